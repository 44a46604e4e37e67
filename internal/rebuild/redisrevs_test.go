package rebuild

import (
	"context"
	"testing"

	"github.com/projectorhq/projector/sinks"
)

// TestRedisVerifyByRevisionChecksTheKey: a view verified by revision (one
// that reads the clock) takes a document stored at its revision as right
// whatever its content, but not whatever its presence: a live document
// whose value key is gone beside its revision key, or a deleted one whose
// key is still there, is a suspect. A later revision may have done either.
func TestRedisVerifyByRevisionChecksTheKey(t *testing.T) {
	f := newFixture(t)
	env := f.openEnv()
	ctx := context.Background()
	doc := func(id int64, rev int64, deleted bool) sinks.Doc {
		d := sinks.Doc{View: "item_view", ID: "x", Key: map[string]any{"id": id}, Rev: rev, Deleted: deleted}
		if !deleted {
			d.Fields = map[string]any{"id": id, "name": "n", "qty": int64(1)}
		}
		return d
	}
	written := []sinks.Doc{doc(1, 5, false), doc(2, 5, false), doc(3, 5, false), doc(4, 5, true)}
	if err := env.live.Write(ctx, written); err != nil {
		t.Fatal(err)
	}
	// Item 2 loses its value key; item 4 (deleted) gets one back.
	if err := f.rdb.Del(ctx, f.prefix+"item:2").Err(); err != nil {
		t.Fatal(err)
	}
	if err := f.rdb.Set(ctx, f.prefix+"item:4", `{"id":4}`, 0).Err(); err != nil {
		t.Fatal(err)
	}
	c := newRedisChecker(env, "item_view", true)
	bad, err := c.check(ctx, []sinks.Doc{
		doc(1, 5, false), // stored as it is
		doc(2, 5, false), // key gone at its revision
		doc(3, 4, false), // stored at a later revision
		doc(4, 5, true),  // key back at its deleted revision
		doc(4, 4, false), // a later revision deleted it
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{false, true, false, true, false} {
		if _, got := bad[i]; got != want {
			t.Errorf("doc %d: suspect %v (%q), want %v", i, got, bad[i], want)
		}
	}
}
