package projector_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

// pipelineRegistry serves some schema ids; the others fail as an unreachable
// registry does while down is set.
type pipelineRegistry struct {
	mu      sync.Mutex
	schemas map[int]string
	down    map[int]bool
	calls   map[int]int
}

func (r *pipelineRegistry) SchemaByID(_ context.Context, id int) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls[id]++
	if r.down[id] {
		return "", errors.New("dial tcp 127.0.0.1:8081: connect: connection refused")
	}
	return r.schemas[id], nil
}

func (r *pipelineRegistry) called(id int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[id]
}

func (r *pipelineRegistry) up() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = nil
}

// TestAppliedBatchWrittenWhileNextDecodeWaits: batch 1 decodes and is
// applied to the state; batch 2 needs a schema the registry, down, cannot
// give. Batch 1 is still written and committed: only the records waiting
// for the registry wait, not the batch applied before them.
func TestAppliedBatchWrittenWhileNextDecodeWaits(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	k := newOwnKafka(t, 1)
	_, plan := loadPlan(t, `
version: 1
kafka: { brokers: "localhost:9092", group: g, schema_registry: { url: "http://127.0.0.1:1" } }
stores: { postgres: { url: "postgres://unused" } }
sources:
  widgets: { topic: cqrs.public.widgets, format: avro, key: id, columns: { id: text, name: text, active: boolean } }
views:
  widget_view:
    from: widgets
    fields: { id: id, title: name, active: active }
    sinks: { postgres: {} }
`, nil)
	reg := &pipelineRegistry{schemas: map[int]string{7: avroWidgetValue, 8: avroWidgetKey, 9: avroWidgetValue},
		down: map[int]bool{9: true}, calls: map[int]int{}}
	defer reg.up()
	mem := &memSink{docs: map[string]sinks.Doc{}}
	eng := newEngine(t, pool, plan, mem, reg)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Batch 1's state write waits for a lock the test holds, so that batch
	// 2 is polled while batch 1 is being applied.
	hold, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Release()
	if _, err := hold.Exec(ctx, `SELECT pg_advisory_lock(4242)`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `CREATE FUNCTION projector.hold() RETURNS trigger LANGUAGE plpgsql AS
		$$ BEGIN IF NEW.key = 'w1' THEN PERFORM pg_advisory_xact_lock(4242); END IF; RETURN NEW; END $$;
		CREATE TRIGGER hold BEFORE INSERT OR UPDATE ON projector.state_widgets FOR EACH ROW EXECUTE FUNCTION projector.hold()`); err != nil {
		t.Fatal(err)
	}

	value := func(schema int, id string, lsn int64) []byte {
		return avroFrame(t, schema, avroWidgetValue, map[string]any{
			"before": nil,
			"after": map[string]any{"cqrs.public.widgets.Value": map[string]any{
				"id": id, "name": map[string]any{"string": "widget " + id}, "active": map[string]any{"boolean": true}}},
			"source": map[string]any{"connector": "postgresql", "name": "cqrs", "snapshot": map[string]any{"string": "false"}, "db": "d",
				"schema": "public", "table": "widgets", "txId": nil, "lsn": map[string]any{"long": lsn}, "ts_ms": int64(1)},
			"op": "c", "ts_ms": nil,
		})
	}
	key := func(id string) []byte { return avroFrame(t, 8, avroWidgetKey, map[string]any{"id": id}) }
	if err := k.prod.ProduceSync(ctx,
		&kgo.Record{Topic: "cqrs.public.widgets", Key: key("w1"), Value: value(7, "w1", 100)},
		&kgo.Record{Topic: "cqrs.public.widgets", Key: key("w2"), Value: value(9, "w2", 101)},
	).FirstErr(); err != nil {
		t.Fatal(err)
	}
	m := startConsumer(t, ctx, eng, projector.ConsumerOptions{Brokers: k.addrs, Group: "registry", ClientID: "a", BatchSize: 1})
	defer func() {
		reg.up()
		select {
		case <-m.stop:
		default:
			close(m.stop)
		}
	}()

	waitCond(t, "batch 1 to wait for the lock in the state", time.Minute, func() bool {
		var waiting bool
		err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = 4242)`).Scan(&waiting)
		return err == nil && waiting
	})
	decodingAhead := eventually(5*time.Second, func() bool { return reg.called(9) > 0 })
	t.Logf("batch 2 decoded while batch 1 is applied: %v", decodingAhead)
	if _, err := hold.Exec(ctx, `SELECT pg_advisory_unlock(4242)`); err != nil {
		t.Fatal(err)
	}
	written := eventually(15*time.Second, func() bool {
		mem.mu.Lock()
		defer mem.mu.Unlock()
		_, ok := mem.docs["w1"]
		return ok
	})
	// The commit follows the write (the state's pending docs and
	// watermarks are settled in between): wait for it too.
	committed := written && eventually(15*time.Second, func() bool { return k.committed("registry", 0) >= 1 })
	if !written || !committed {
		t.Errorf("batch 1 was applied 15s ago and the registry (needed by batch 2 only) is down: w1 written %v, committed offset %d; want written and committed at 1",
			written, k.committed("registry", 0))
	}

}
