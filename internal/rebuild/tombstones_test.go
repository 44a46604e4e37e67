package rebuild

import (
	"context"
	"testing"
	"time"
)

// TestReplayRepairsAfterACollection: rebuild --from kafka repairs a state
// that lost rows, also once tombstones of the source were collected: the
// lost rows come back, and a collected row's delete, replayed after its
// create, leaves it deleted.
func TestReplayRepairsAfterACollection(t *testing.T) {
	f, h := newKafkaHistory(t, 1)
	ctx := context.Background()
	batch := map[int64]*item{}
	for id := int64(1); id <= 20; id++ {
		batch[id] = &item{Name: "item", Qty: id}
	}
	h.step(batch)
	h.step(map[int64]*item{7: nil}) // item 7 deleted after every create
	h.publish()

	// Item 7's delete is eight days old; the collector takes it.
	if _, err := f.pool.Exec(ctx, `UPDATE projector.state_items SET updated_at = now() - interval '8 days' WHERE key = '7' AND deleted`); err != nil {
		t.Fatal(err)
	}
	if n, err := h.d.st.Engine.CollectTombstones(ctx, 7*24*time.Hour); err != nil || n != 1 {
		t.Fatalf("collected %d tombstones (%v), want item 7's", n, err)
	}
	// The state loses items 10 and 11 (as in TestRebuildFromKafka).
	if _, err := f.pool.Exec(ctx, `DELETE FROM projector.state_items WHERE key IN ('10', '11')`); err != nil {
		t.Fatal(err)
	}

	env := f.openEnv()
	res, err := Run(ctx, env, Options{View: "item_view", From: "kafka", Keep: 0, ReplayIdle: 5 * time.Second})
	if err != nil {
		t.Fatalf("rebuild --from kafka: %v", err)
	}
	t.Logf("rebuild --from kafka: %+v", res)
	var n int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM projector.state_items WHERE key IN ('10', '11') AND NOT deleted`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("after the replay the state holds %d of the lost items 10 and 11, want both", n)
	}
	f.wantDocs(h.source)
}
