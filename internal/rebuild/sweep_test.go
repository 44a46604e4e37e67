package rebuild

import (
	"context"
	"testing"
)

// TestPurgeTemplateReadsIdsInPages: the purge of an old key template
// reads the view's document ids a page at a time (ten chunks); with pages
// far smaller than the view, every key of the old template still goes,
// whatever order the ids sort in as text ("10" before "2").
func TestPurgeTemplateReadsIdsInPages(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	source := f.seed(d, 1, 95)
	d.stop()
	ctx := context.Background()

	f.setRedisKeys(map[string]string{"item_view": "thing:{id}"})
	env := f.openEnv()
	res, err := Run(ctx, env, Options{View: "item_view", Keep: 0, Chunk: 1}) // pages of 10 ids
	if err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	if res.Swept != 95 {
		t.Errorf("swept %d keys, want the 95 of the old template", res.Swept)
	}
	for pattern, want := range map[string]int{
		f.prefix + "item:*": 0, "projector:rev:{" + f.prefix + "item:*": 0,
		f.prefix + "thing:*": len(source),
	} {
		keys, err := f.rdb.Keys(ctx, pattern).Result()
		if err != nil || len(keys) != want {
			t.Errorf("%s: %d keys (%v), want %d", pattern, len(keys), err, want)
		}
	}
}

// TestSweepStreamsDocumentsWithoutRoot: the documents without a root row
// (every deleted document's revision is among them) are swept a chunk at
// a time as they stream in; with far more of them than a chunk, every one
// whose key survived goes, and the others stay.
func TestSweepStreamsDocumentsWithoutRoot(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	source := f.seed(d, 1, 60)
	d.stop()
	ctx := context.Background()
	// The state rows of 1–37 are purged behind the engine's back: the
	// stores keep their documents.
	if _, err := f.pool.Exec(ctx, `DELETE FROM projector.state_items WHERE key::int <= 37`); err != nil {
		t.Fatal(err)
	}
	for id := int64(1); id <= 37; id++ {
		source[id] = nil
	}
	env := f.openEnv()
	res, err := Run(ctx, env, Options{View: "item_view", Keep: 0, Chunk: 4})
	if err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	if res.Swept != 37 {
		t.Errorf("swept %d documents, want the 37 without a root row", res.Swept)
	}
	f.wantDocs(source)
}

// TestOldTemplateKeepsRevisions: documents deleted after the key template
// changed keep their old-template keys (the engine deletes under the new
// one). Their revisions outlive the retention until a rebuild has purged
// those keys: collected earlier, the rebuild would never find them.
func TestOldTemplateKeepsRevisions(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	source := f.seed(d, 1, 30)
	d.stop()
	ctx := context.Background()

	f.setRedisKeys(map[string]string{"item_view": "thing:{id}"})
	lsn, offset := d.lsn, d.offset
	d = f.startDaemon()
	d.lsn, d.offset = lsn, offset // the stream goes on
	deleted := map[int64]*item{}
	for id := int64(1); id <= 5; id++ {
		deleted[id], source[id] = nil, nil
	}
	if err := d.apply(ctx, deleted); err != nil {
		t.Fatal(err)
	}
	if n, err := d.st.Engine.CollectRevisions(ctx, 0); err != nil || n != 0 {
		t.Fatalf("collected %d revisions (%v) before the old template's keys were purged, want 0", n, err)
	}
	d.stop()

	if _, err := Run(ctx, f.openEnv(), Options{View: "item_view", Keep: 0}); err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	if keys, err := f.rdb.Keys(ctx, f.prefix+"item:*").Result(); err != nil || len(keys) != 0 {
		t.Errorf("keys of the old template after the rebuild: %q (%v), want none", keys, err)
	}
	if keys, err := f.rdb.Keys(ctx, f.prefix+"thing:*").Result(); err != nil || len(keys) != 25 {
		t.Errorf("keys of the new template after the rebuild: %d (%v), want 25", len(keys), err)
	}
	d = f.startDaemon()
	if n, err := d.st.Engine.CollectRevisions(ctx, 0); err != nil || n != 5 {
		t.Errorf("after the rebuild: collected %d revisions (%v), want the 5 deleted documents'", n, err)
	}
}
