package projector_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

// heldSink holds its first write until released, and keeps every doc.
type heldSink struct {
	viewSink
	once    sync.Once
	held    chan struct{} // closed when the first write arrives
	release chan struct{}
}

func newHeldSink() *heldSink {
	return &heldSink{viewSink: viewSink{docs: map[string]sinks.Doc{}}, held: make(chan struct{}), release: make(chan struct{})}
}

func (s *heldSink) Name() string { return "held" }
func (s *heldSink) Write(ctx context.Context, docs []sinks.Doc) error {
	first := false
	s.once.Do(func() { first = true; close(s.held) })
	if first {
		select {
		case <-s.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return s.viewSink.Write(ctx, docs)
}

// TestPipeline: the consumer applies a batch to the state while the docs
// of the batch before it are still being written, and commits no offset of
// either until the batch it belongs to is written to every sink.
func TestPipeline(t *testing.T) {
	kc := newCluster(t, 1, "cqrs.public.widgets")
	pool, eng, sink := heldEngine(t, kc.addrs)

	// Every state row committed is announced: the fourth comes from the
	// second batch (three records per batch).
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := pool.Exec(ctx, `CREATE FUNCTION projector.announce() RETURNS trigger LANGUAGE plpgsql AS
		$$ BEGIN PERFORM pg_notify('state_rows', NEW.key); RETURN NEW; END $$;
		CREATE TRIGGER announce AFTER INSERT ON projector.state_widgets FOR EACH ROW EXECUTE FUNCTION projector.announce()`); err != nil {
		t.Fatal(err)
	}
	listener, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Release()
	if _, err := listener.Exec(ctx, `LISTEN state_rows`); err != nil {
		t.Fatal(err)
	}

	var recs []*kgo.Record
	for i := 1; i <= 6; i++ {
		id := fmt.Sprintf("w%d", i)
		recs = append(recs, widgetRecord(id, sample(t, "postgres/create_schemaless.value.json", func(m map[string]any) {
			m["after"] = map[string]any{"id": id, "name": "widget " + id, "active": true}
		})))
	}
	kc.produce(t, recs...)
	m := startConsumer(t, ctx, eng, projector.ConsumerOptions{Brokers: kc.addrs, Group: "pipeline", BatchSize: 3})
	select {
	case <-sink.held:
	case err := <-m.done:
		t.Fatalf("consumer stopped before writing: %v", err)
	}
	seen := map[string]bool{}
	for len(seen) < 4 {
		n, err := listener.Conn().WaitForNotification(ctx)
		if err != nil {
			t.Fatalf("the second batch never reached the state while the first one's write was held (%d rows): %v", len(seen), err)
		}
		seen[n.Payload] = true
	}
	offsets, err := kc.adm.FetchOffsets(ctx, "pipeline")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := offsets.Lookup("cqrs.public.widgets", 0); ok && o.At >= 0 {
		t.Fatalf("offset %d committed while the first batch's write is held", o.At)
	}

	close(sink.release)
	kc.waitCaughtUp(t, "pipeline", m.done)
	sink.mu.Lock()
	defer sink.mu.Unlock()
	for i := 1; i <= 6; i++ {
		d, ok := sink.docs[fmt.Sprintf("widget_view/w%d", i)]
		if !ok || d.Fields["title"] != fmt.Sprintf("widget w%d", i) {
			t.Errorf("widget_view/w%d: %v %v, want written with its title", i, ok, d.Fields)
		}
	}
}
