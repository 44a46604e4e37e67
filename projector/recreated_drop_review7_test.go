package projector_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

const r7TwoTopicsYAML = `
version: 1
kafka: { brokers: "${BROKERS}", group: r7 }
stores: { postgres: { url: "${PG}" } }
sources:
  widgets:
    topic: cqrs.public.widgets
    key: id
    columns: { id: text, name: text, active: boolean }
  gadgets:
    topic: cqrs.public.gadgets
    key: id
    columns: { id: text, name: text, active: boolean }
views:
  widget_view:
    from: widgets
    fields: { id: id, title: name }
    sinks: { postgres: {} }
  gadget_view:
    from: gadgets
    fields: { id: id, title: name }
    sinks: { postgres: {} }
`

// r7GateSink keeps every doc; while hold is set its writes wait for the
// gate to open (held is closed once a write waits).
type r7GateSink struct {
	mu   sync.Mutex
	docs map[string]sinks.Doc
	hold bool
	held chan struct{}
	open chan struct{}
	once sync.Once
}

func (s *r7GateSink) Name() string { return "gate" }
func (s *r7GateSink) Write(ctx context.Context, docs []sinks.Doc) error {
	s.mu.Lock()
	hold := s.hold
	s.mu.Unlock()
	if hold {
		s.once.Do(func() { close(s.held) })
		select {
		case <-s.open:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range docs {
		s.docs[d.View+"/"+d.ID] = d
	}
	return nil
}

func (s *r7GateSink) has(k string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.docs[k]
	return ok
}

func r7Record(t *testing.T, topic, id string) *kgo.Record {
	return &kgo.Record{Topic: topic, Key: []byte(`{"id":"` + id + `"}`), Value: sample(t, "postgres/create_schemaless.value.json", func(m map[string]any) {
		m["after"] = map[string]any{"id": id, "name": "n " + id, "active": true}
	})}
}

// TestReview7RecreatedTopicDropsOtherTopicsRecords
//
// Scenario: the daemon consumes two topics (widgets, gadgets) from one
// broker. The widgets topic is deleted and created again (the broker
// answers UNKNOWN_TOPIC_ID for its old ID) while a backlog of gadgets is
// being consumed. franz-go surfaces UNKNOWN_TOPIC_ID (after 5 silent
// retries) in a fetch that also carries gadgets records.
//
// Expected (DESIGN "Delivery", README "At-least-once": "nothing is
// skipped"): every gadgets record is projected before its offset is
// committed.
//
// Actual: consumer.go:235-240 handles the recreated topic and `continue`s,
// discarding fetches.Records() of that poll, records of other topics
// included; the client has moved past them, and the next batches of
// gadgets commit past them: those changes are lost for good.
func TestReview7RecreatedTopicDropsOtherTopicsRecords(t *testing.T) {
	const widgets, gadgets = "cqrs.public.widgets", "cqrs.public.gadgets"
	pool, pgURL := testenv.Postgres(t)
	fake, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, widgets, gadgets))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(fake.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	adm := kadm.NewClient(cl)
	produce := func(r *kgo.Record) {
		t.Helper()
		if err := cl.ProduceSync(context.Background(), r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	committed := func(topic string) int64 {
		offs, err := adm.FetchOffsets(context.Background(), "r7")
		if err != nil {
			return -1
		}
		o, ok := offs.Lookup(topic, 0)
		if !ok || o.Err != nil {
			return -1
		}
		return o.At
	}
	_, plan := loadPlan(t, r7TwoTopicsYAML, env("BROKERS", fmt.Sprint(fake.ListenAddrs()[0]), "PG", pgURL))
	sink := &r7GateSink{docs: map[string]sinks.Doc{}, held: make(chan struct{}), open: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	logs := &capturedLog{}
	startConsumer(t, ctx, newEngine(t, pool, plan, sink, nil), projector.ConsumerOptions{
		Brokers: fake.ListenAddrs(), Group: "r7", ClientID: "r7", BatchSize: 100, Logger: slog.New(logs),
		Extra: []kgo.Opt{
			kgo.MetadataMinAge(100 * time.Millisecond), kgo.MetadataMaxAge(250 * time.Millisecond),
			// One record batch per fetch: the gadgets backlog spans many
			// fetches, as a busy topic's does.
			kgo.FetchMaxPartitionBytes(1),
		}})
	produce(r7Record(t, widgets, "w0"))
	waitCond(t, "the widget committed", time.Minute, func() bool { return committed(widgets) == 1 })

	// Hold the sink, so that a backlog of gadgets builds up in Kafka.
	sink.mu.Lock()
	sink.hold = true
	sink.mu.Unlock()
	const n = 80
	for i := range n {
		produce(r7Record(t, gadgets, fmt.Sprintf("g%d", i)))
	}
	select {
	case <-sink.held:
	case <-ctx.Done():
		t.Fatal("no write reached the sink")
	}
	// The widgets topic is deleted and created again: the broker answers
	// every fetch of the topic ID the client holds with UNKNOWN_TOPIC_ID, as
	// Kafka does. (kfake's own DeleteTopic+CreateTopic drops the partition
	// from the fetch session, so that the error comes only once the other
	// topic is drained; the fault answers as Kafka would, in every fetch.)
	fh := fake.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Fetch}, Topic: widgets, Err: kerr.UnknownTopicID, Count: -1})
	close(sink.open)
	waitCond(t, "the consumer to notice the recreated topic", time.Minute, func() bool {
		return logs.has("topics were deleted and created again")
	})
	fh.Remove() // the topic is consumed afresh
	waitCond(t, "every gadget committed", time.Minute, func() bool { return committed(gadgets) == n })
	var missing []string
	for i := range n {
		if id := fmt.Sprintf("g%d", i); !sink.has("gadget_view/" + id) {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		t.Errorf("gadgets %v are committed (offset %d) but were never written: the poll that reported the recreated widgets topic was dropped", missing, committed(gadgets))
	}
}
