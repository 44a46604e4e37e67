package projector_test

// Hostile review of f2ee66d: errors.tolerance none with the batches of one
// poll, when the dead letter is found by the projection (a MongoDB partial
// update of a document the state does not hold) rather than by the decoder.

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

const btMongoYAML = `
version: 1
kafka: { brokers: "${BROKERS}", group: bt }
stores: { postgres: { url: "${PG}" } }
errors: { tolerance: none }
sources:
  users: { topic: m.shop.users, key: _id }
views:
  user_view:
    from: users
    fields: { id: _id, name: name, bio: bio }
    sinks: { postgres: {} }
`

// TestReviewBytesToleranceNoneStopsBeforeNextBatch: the commit claims "a
// batch with dead letters is drained before the next is applied", and
// TestBatchBytesStopsAtTheBadBatch checks that no batch after the bad
// record's is applied to the state. A dead letter the projection finds
// (a partial update of a document the state never saw) is not known when
// the batch is decoded, so the next batch of the same poll is applied to
// the state, and its docs recorded pending (written by the next start's
// Recover), before errors.tolerance none stops the consumer on the bad
// record.
func TestReviewBytesToleranceNoneStopsBeforeNextBatch(t *testing.T) {
	pool, pgURL := testenv.Postgres(t)
	kc := newCluster(t, 1, "m.shop.users")
	_, plan := loadPlan(t, btMongoYAML, env("BROKERS", brokers(kc), "PG", pgURL))
	mem := &memSink{docs: map[string]sinks.Doc{}}
	eng := newEngine(t, pool, plan, mem, nil)

	const a, b, c = "6811137d0c9f202a34d861a0", "6811137d0c9f202a34d861b0", "6811137d0c9f202a34d861c0"
	big := strings.Repeat("x", 60000)
	recs := []projector.Record{
		mongoStream("c", a, `{"_id": {"$oid": "`+a+`"}, "name": "Ada", "bio": "`+big+`"}`, "", nil, 1000, 1),
		// A partial update of b, which the state never held: a dead letter.
		mongoStream("u", b, "", "", map[string]any{"updatedFields": `{"bio": "` + big + `"}`, "removedFields": []string{}, "truncatedArrays": nil}, 1001, 1),
		mongoStream("c", c, `{"_id": {"$oid": "`+c+`"}, "name": "Cy", "bio": "`+big+`"}`, "", nil, 1002, 1),
	}
	var krecs []*kgo.Record
	for _, r := range recs {
		krecs = append(krecs, &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value})
	}
	kc.produce(t, krecs...)

	ctx := context.Background()
	m := startConsumer(t, ctx, eng, projector.ConsumerOptions{Brokers: kc.addrs, Group: "bt", ClientID: "bt",
		BatchBytes: 100000, StopOnError: true,
		Extra: []kgo.Opt{kgo.FetchMaxPartitionBytes(8 << 20)}})
	select {
	case err := <-m.done:
		if err == nil || !strings.Contains(err.Error(), "tolerance") || !strings.Contains(err.Error(), "@1") {
			t.Fatalf("the consumer stopped with %v; want the partial update's position and the policy", err)
		}
		m.done <- nil // for the cleanup
	case <-time.After(time.Minute):
		t.Fatal("the consumer did not stop on the partial update of an unseen document")
	}
	committed, err := kc.adm.FetchOffsetsForTopics(ctx, "bt", "m.shop.users")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := committed.Lookup("m.shop.users", 0); !ok || o.At != 1 {
		t.Errorf("committed offset %v, want 1 (the first batch, not the bad record's)", o.At)
	}
	var inState, pending int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM projector.state_users WHERE key LIKE '%`+c+`%'`).Scan(&inState); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM projector.pending WHERE doc_id LIKE '%`+c+`%'`).Scan(&pending); err != nil {
		t.Fatal(err)
	}
	if inState > 0 || pending > 0 {
		t.Errorf("user %s, of the batch after the bad record's, was applied to the state (%d rows) and recorded pending (%d docs) before the consumer stopped", c, inState, pending)
	}
}
