package rebuild

import (
	"context"
	"testing"
	"time"
)

// TestR38aRedisRestoredAfterCollectionKeepsDeletedDocs: README (Failure
// handling): "a store restored from an older snapshot [is] not noticed.
// `projector rebuild VIEW --sinks redis` (or `es`, `postgres`) repairs it",
// and (Rebuild) "Redis keys are the live keys: the fill overwrites them by
// revision, the keys of documents whose rows are gone are deleted". The
// rebuild's sweep finds those documents through projector.revs only
// (sweep.go: "the documents the engine ever computed for the view"), and the
// tombstone collection removes the revisions of documents deleted longer
// ago than state.tombstone_retention. A Redis restored from a snapshot taken
// before such a delete — a daily backup with a retention of a few hours or
// days, which `validate` accepts down to 1h — holds the deleted document,
// and the rebuild leaves it there for good: readers keep getting a document
// whose row is gone. Items 3 and 4 are deleted after the snapshot; only
// item 3's revision is past the retention: item 4's key is swept, item 3's
// stays.
func TestR38aRedisRestoredAfterCollectionKeepsDeletedDocs(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	source := f.seed(d, 1, 10)
	ctx := context.Background()

	// The backup: items 3 and 4 and their revisions, as Redis held them.
	type dumped struct {
		key, val string
	}
	var backup []dumped
	for _, k := range []string{f.prefix + "item:3", "projector:rev:{" + f.prefix + "item:3}", f.prefix + "item:4", "projector:rev:{" + f.prefix + "item:4}"} {
		v, err := f.rdb.Dump(ctx, k).Result()
		if err != nil {
			t.Fatalf("DUMP %s: %v", k, err)
		}
		backup = append(backup, dumped{k, v})
	}

	if err := d.apply(ctx, map[int64]*item{3: nil, 4: nil}); err != nil {
		t.Fatal(err)
	}
	source[3], source[4] = nil, nil
	// Item 3 was deleted eight days ago, item 4 just now; the retention is
	// seven days.
	if _, err := f.pool.Exec(ctx, `UPDATE projector.revs SET deleted_at = now() - interval '8 days' WHERE doc_id = '3' AND deleted_at IS NOT NULL;
		UPDATE projector.state_items SET updated_at = now() - interval '8 days' WHERE key = '3' AND deleted`); err != nil {
		t.Fatal(err)
	}
	if n, err := d.st.Engine.CollectTombstones(ctx, 7*24*time.Hour); err != nil || n != 1 {
		t.Fatalf("collected %d tombstones (%v), want item 3's", n, err)
	}
	if n, err := d.st.Engine.CollectRevisions(ctx, 7*24*time.Hour); err != nil || n != 1 {
		t.Fatalf("collected %d revisions (%v), want item 3's", n, err)
	}
	d.stop()

	// Redis is restored from the backup.
	for _, b := range backup {
		if err := f.rdb.RestoreReplace(ctx, b.key, 0, b.val).Err(); err != nil {
			t.Fatalf("RESTORE %s: %v", b.key, err)
		}
	}

	res, err := Run(ctx, f.openEnv(), Options{View: "item_view", Keep: 0, Stores: []string{"redis"}})
	if err != nil {
		t.Fatalf("rebuild --sinks redis: %v", err)
	}
	t.Logf("rebuild --sinks redis: swept %d", res.Swept)
	for _, id := range []string{"3", "4"} {
		n, err := f.rdb.Exists(ctx, f.prefix+"item:"+id).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("item %s, deleted (its revision collected: %v), is still in Redis after rebuild --sinks redis", id, id == "3")
		}
	}
	f.wantDocs(source)
}
