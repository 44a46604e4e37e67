package rebuild

import (
	"context"
	"fmt"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestRebuildFromSource: the state missed a delete and holds an old version
// of a row; a rebuild --from source re-reads the source table in one
// snapshot, and the view matches the source again. A streamed change older
// than the snapshot is then skipped, a newer one applied.
func TestRebuildFromSource(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	ctx := context.Background()
	srcPool, srcURL := testenv.Postgres(t)
	if _, err := srcPool.Exec(ctx, `CREATE TABLE public.items (id bigint PRIMARY KEY, name text, qty bigint);
		INSERT INTO public.items SELECT g, 'item-' || g, g FROM generate_series(1, 120) g;
		UPDATE public.items SET name = 'renamed', qty = 50 WHERE id = 5;
		UPDATE public.items SET name = 'hidden-6' WHERE id = 6;
		DELETE FROM public.items WHERE id = 7;`); err != nil {
		t.Fatal(err)
	}
	// The state as a daemon that missed some changes left it.
	f.seed(d, 1, 120)
	if err := d.apply(ctx, map[int64]*item{500: {Name: "deleted in the source", Qty: 1}}); err != nil {
		t.Fatal(err)
	}
	source := map[int64]*item{}
	for id := int64(1); id <= 120; id++ {
		source[id] = &item{Name: "item-" + itoa(id), Qty: id}
	}
	source[5], source[6], source[7] = &item{Name: "renamed", Qty: 50}, &item{Name: "hidden-6", Qty: 6}, nil

	env := f.openEnv()
	res, err := Run(ctx, env, Options{View: "item_view", From: "source", Keep: 0, Chunk: 50,
		SourceURLs: map[string]string{"items": srcURL}})
	if err != nil {
		t.Fatalf("rebuild --from source: %v", err)
	}
	if res.SourceRows != 119 || res.SourceDeleted != 2 {
		t.Errorf("read %d source rows and deleted %d state rows; want 119 and 2 (7 and 500)", res.SourceRows, res.SourceDeleted)
	}
	f.wantDocs(source)

	// The stream goes on: a change from before the snapshot is older than
	// what the state now holds, one from after it wins.
	if err := d.apply(ctx, map[int64]*item{5: {Name: "an old change replayed", Qty: 1}}); err != nil {
		t.Fatal(err)
	}
	f.wantDocs(source)
	if err := srcPool.QueryRow(ctx, `SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint + 1000`).Scan(&d.lsn); err != nil {
		t.Fatal(err)
	}
	if err := d.apply(ctx, map[int64]*item{5: {Name: "after the snapshot", Qty: 2}}); err != nil {
		t.Fatal(err)
	}
	source[5] = &item{Name: "after the snapshot", Qty: 2}
	f.wantDocs(source)
}

func itoa(n int64) string { return fmt.Sprint(n) }
