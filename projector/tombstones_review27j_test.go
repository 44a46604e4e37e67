package projector_test

import (
	"context"
	"testing"
	"time"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/internal/testenv"
)

// TestR27jCollectEmptyKeyTombstone: a source row whose key is the empty
// string (a text primary key ” or a MongoDB _id "", which the engine
// takes: see cursorMark) leaves a tombstone when deleted, like any other.
// collectTombstones walks the tombstone index from after the key "" and
// so never reaches it: the tombstone is kept forever, where the previous
// version collected it.
func TestR27jCollectEmptyKeyTombstone(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, patchRecoverYAML, nil)
	eng := newEngine(t, pool, plan, newViewSink(), nil)
	ctx := context.Background()
	del := debezium.Change{Kind: debezium.KindChange, Op: debezium.OpDelete, Position: debezium.Position{Hi: 2},
		Key: map[string]any{"_id": ""}, Before: map[string]any{"_id": ""}}
	if err := eng.ProcessChanges(ctx, "teams", []debezium.Change{
		upsert("", 1, 0, map[string]any{"_id": "", "title": "Nameless"}),
	}); err != nil {
		t.Fatal(err)
	}
	if err := eng.ProcessChanges(ctx, "teams", []debezium.Change{del}); err != nil {
		t.Fatal(err)
	}
	var keys []string
	rows, err := pool.Query(ctx, `SELECT key FROM projector.state_teams WHERE deleted`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0] != "" {
		t.Fatalf("tombstones after deleting the row keyed \"\": %q, want one keyed \"\"", keys)
	}
	if _, err := pool.Exec(ctx, `UPDATE projector.state_teams SET updated_at = now() - interval '8 days'`); err != nil {
		t.Fatal(err)
	}
	n, err := eng.CollectTombstones(ctx, 7*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("collected %d tombstones, want the one keyed \"\" (eight days old, retention seven)", n)
	}
}
