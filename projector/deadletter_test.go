package projector_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestDeadLetters: a record that cannot be decoded goes to the dead-letter
// topic with headers naming the error and where it came from; the records
// around it are projected and the consumer goes on.
func TestDeadLetters(t *testing.T) {
	pool, pgURL := testenv.Postgres(t)
	_, prefix := testenv.Redis(t)
	kc := newCluster(t, 1, "cqrs.public.widgets")
	cfg, plan := loadPlan(t, widgetsYAML, env("BROKERS", brokers(kc), "PG", pgURL, "REDIS", testenv.RedisURL(t), "PREFIX", prefix))
	if cfg.Kafka.DeadLetterTopic != "widgets.dlq" {
		t.Fatalf("default dead-letter topic %q, want widgets.dlq", cfg.Kafka.DeadLetterTopic)
	}
	m := startMember(t, cfg, plan, 100)
	bad := widgetRecord("w2", []byte(`{"before":null,"after":{"id":"w2"`)) // cut short
	bad.Headers = []kgo.RecordHeader{{Key: "traceparent", Value: []byte("00-4bf92f3577b34da6-00f067aa0ba902b7-01")}}
	kc.produce(t,
		widgetRecord("w1", sample(t, "postgres/create_schemaless.value.json", nil)),
		bad,
		widgetRecord("w3", sample(t, "postgres/create_schemaless.value.json", func(m map[string]any) {
			m["after"] = map[string]any{"id": "w3", "name": "after the bad one", "active": true}
		})),
	)
	kc.waitCaughtUp(t, "widgets", m.done)
	wantRows(t, pool, map[string]widget{"w1": {"gadget", true}, "w3": {"after the bad one", true}})

	dl := readTopic(t, kc, "widgets.dlq", 1)
	r := dl[0]
	if string(r.Key) != `{"id":"w2"}` || !strings.HasPrefix(string(r.Value), `{"before":null`) {
		t.Errorf("dead letter key %s value %s: want the original record", r.Key, r.Value)
	}
	h := headers(r)
	if h["projector.topic"] != "cqrs.public.widgets" || h["projector.partition"] != "0" || h["projector.offset"] != "1" {
		t.Errorf("dead letter headers %v: want topic, partition 0, offset 1", h)
	}
	if !strings.Contains(h["projector.error"], "malformed") {
		t.Errorf("dead letter error header %q: want the decoder's reason", h["projector.error"])
	}
	if h["traceparent"] != "00-4bf92f3577b34da6-00f067aa0ba902b7-01" {
		t.Errorf("dead letter headers %v: want the original's traceparent kept", h)
	}
	m.drain(t)
}

// TestToleranceNone: with errors.tolerance none a bad record stops the
// consumer, and its offset is not committed.
func TestToleranceNone(t *testing.T) {
	_, pgURL := testenv.Postgres(t)
	_, prefix := testenv.Redis(t)
	kc := newCluster(t, 1, "cqrs.public.widgets")
	yaml := strings.Replace(widgetsYAML, "views:", "errors: { tolerance: none }\nviews:", 1)
	cfg, plan := loadPlan(t, yaml, env("BROKERS", brokers(kc), "PG", pgURL, "REDIS", testenv.RedisURL(t), "PREFIX", prefix))
	m := startMember(t, cfg, plan, 1)
	kc.produce(t,
		widgetRecord("w1", sample(t, "postgres/create_schemaless.value.json", nil)),
		widgetRecord("w2", []byte(`not json`)),
	)
	select {
	case err := <-m.done:
		if err == nil || !strings.Contains(err.Error(), "@1") || !strings.Contains(err.Error(), "tolerance") {
			t.Fatalf("consumer stopped with %v; want the bad record's position and the policy", err)
		}
		m.done <- nil // let cleanup's kill see a clean stop
	case <-time.After(60 * time.Second):
		t.Fatal("consumer did not stop on a bad record")
	}
	committed, err := kc.adm.FetchOffsetsForTopics(context.Background(), "widgets", "cqrs.public.widgets")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := committed.Lookup("cqrs.public.widgets", 0); ok && o.At > 1 {
		t.Errorf("committed offset %d: the bad record at 1 must not be committed", o.At)
	}
}

// readTopic reads n records of topic from its start.
func readTopic(t *testing.T, kc *cluster, topic string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(kc.addrs...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		f := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records from %s", len(out), n, topic)
		}
		out = append(out, f.Records()...)
	}
	return out
}

// headers maps a record's headers by key.
func headers(r *kgo.Record) map[string]string {
	h := map[string]string{}
	for _, x := range r.Headers {
		h[x.Key] = string(x.Value)
	}
	return h
}

// TestDeadLetterTopicCreatedWhenMissing: the dead-letter topic is created
// at start, but a topic deleted since (or never created because the
// brokers did not answer then) is created when a dead letter needs it,
// instead of failing the batch on every retry.
func TestDeadLetterTopicCreatedWhenMissing(t *testing.T) {
	_, pgURL := testenv.Postgres(t)
	_, prefix := testenv.Redis(t)
	kc := newCluster(t, 1, "cqrs.public.widgets")
	cfg, plan := loadPlan(t, widgetsYAML, env("BROKERS", brokers(kc), "PG", pgURL, "REDIS", testenv.RedisURL(t), "PREFIX", prefix))
	m := startMember(t, cfg, plan, 100)
	kc.produce(t, widgetRecord("w1", sample(t, "postgres/create_schemaless.value.json", nil)))
	kc.waitCaughtUp(t, "widgets", m.done)
	resp, err := kc.adm.DeleteTopics(context.Background(), "widgets.dlq")
	if err != nil || resp.Error() != nil {
		t.Fatalf("delete the dead-letter topic: %v %v", err, resp.Error())
	}
	kc.produce(t, widgetRecord("w2", []byte(`{"before":null,"after":{"id":"w2"`)))
	kc.waitCaughtUp(t, "widgets", m.done)
	dl := readTopic(t, kc, "widgets.dlq", 1)
	if h := headers(dl[0]); h["projector.offset"] != "1" {
		t.Errorf("dead letter headers %v: want the record at offset 1", h)
	}
	m.drain(t)
}
