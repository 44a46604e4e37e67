package projector_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

// outOfRangeSink refuses order 1 as a store refuses a value it cannot hold.
type outOfRangeSink struct{ *viewSink }

func (s outOfRangeSink) Write(ctx context.Context, docs []sinks.Doc) error {
	failed := map[int]error{}
	var ok []sinks.Doc
	for i, d := range docs {
		if d.View == "order_view" && d.ID == "1" {
			failed[i] = sinks.Refused(errors.New("value out of range for column status"))
			continue
		}
		ok = append(ok, d)
	}
	if err := s.viewSink.Write(ctx, ok); err != nil {
		return err
	}
	if len(failed) > 0 {
		return &sinks.BatchError{Failed: failed}
	}
	return nil
}

// leavePending is an instance that applied orders 1 and 2 and crashed
// before it wrote order 1: the next consumer's Recover writes it.
func leavePending(t *testing.T, pool *pgxpool.Pool) *outOfRangeSink {
	t.Helper()
	_, plan := loadPlan(t, reviewHead+chunkYAML, nil)
	ctx := context.Background()
	if _, err := chunkEngine(t, plan, pool, newViewSink()).Process(ctx, chunkRecords(2)); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO projector.pending_batches (docs) VALUES ('[{"view": "order_view", "doc_id": "1", "key": {"id": 1}}]')`); err != nil {
		t.Fatal(err)
	}
	return &outOfRangeSink{newViewSink()}
}

func pendingRows(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM projector.pending_batches`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// startRecovering runs a consumer of the users topic over an engine
// writing to s, and gives it one record: its first batch recovers.
func startRecovering(t *testing.T, pool *pgxpool.Pool, s projector.Sink, none bool) (*cluster, chan error) {
	t.Helper()
	_, plan := loadPlan(t, reviewHead+chunkYAML, nil)
	kc := newCluster(t, 1, "t.public.users")
	eng := chunkEngine(t, plan, pool, s)
	c, err := projector.NewConsumer(eng, projector.ConsumerOptions{
		Brokers: kc.addrs, Group: "recover", ClientID: "test",
		DeadLetterTopic: "recover.dlq", StopOnError: none,
	})
	if err != nil {
		t.Fatal(err)
	}
	stop, done := make(chan struct{}), make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { done <- c.Run(ctx, stop) }()
	t.Cleanup(func() {
		close(stop)
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Error("the consumer did not stop")
		}
		cancel()
	})
	r := chunkRec("users", 0, map[string]any{"id": 7, "name": "bo"}, 500)
	kc.produce(t, &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value})
	return kc, done
}

// TestRecoverRefusalDeadLettered: a doc a crashed instance left pending,
// which the store refuses when the next consumer recovers it, goes to the
// dead-letter topic as a batch's refused doc does, and the pending row is
// forgotten only then.
func TestRecoverRefusalDeadLettered(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := leavePending(t, pool)
	kc, _ := startRecovering(t, pool, s, false)

	dl := readTopic(t, kc, "recover.dlq", 1)
	h := headers(dl[0])
	if h["projector.view"] != "order_view" || h["projector.doc_id"] != "1" || h["projector.sink"] != "views" ||
		!strings.Contains(h["projector.error"], "out of range") {
		t.Errorf("dead letter headers %v: want order_view doc 1 refused by views for its range", h)
	}
	if !strings.Contains(string(dl[0].Value), `"status":"paid"`) {
		t.Errorf("dead letter value %s: want the refused doc", dl[0].Value)
	}
	if !eventually(30*time.Second, func() bool { return pendingRows(t, pool) == 0 }) {
		t.Errorf("%d pending rows left after the refused doc was dead-lettered", pendingRows(t, pool))
	}
}

// TestRecoverRefusalStopsWithToleranceNone: with errors.tolerance none a
// doc refused while recovering stops the consumer, saying which, and stays
// pending for the next start.
func TestRecoverRefusalStopsWithToleranceNone(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := leavePending(t, pool)
	_, done := startRecovering(t, pool, s, true)
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), `doc "1" of view order_view`) || !strings.Contains(err.Error(), "tolerance") {
			t.Fatalf("consumer stopped with %v; want the refused doc and the policy", err)
		}
		done <- nil // for the cleanup
	case <-time.After(time.Minute):
		t.Fatal("consumer did not stop on a doc refused while recovering")
	}
	if n := pendingRows(t, pool); n != 1 {
		t.Errorf("%d pending rows after the stop, want the refused doc's 1", n)
	}
}
