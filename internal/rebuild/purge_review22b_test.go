package rebuild

import (
	"context"
	"testing"
	"time"
)

// TestR22bDaemonPurgesSinkTombstones: a daemon (the stack wired with the
// rebuild watcher, as `projector run` does) purges the tombstones of its
// PostgreSQL view table once they are older than the retention, as the
// engine's tombstone collection promises.
func TestR22bDaemonPurgesSinkTombstones(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f.seed(d, 1, 3)
	if err := d.apply(ctx, map[int64]*item{2: nil}); err != nil {
		t.Fatal(err)
	}
	tag, err := f.pool.Exec(ctx, `UPDATE public.item_view__g1 SET _updated_at = now() - interval '2 days' WHERE _deleted`)
	if err != nil {
		t.Fatal(err)
	}
	if tag.RowsAffected() != 1 {
		t.Fatalf("%d tombstones in item_view__g1, want item 2's", tag.RowsAffected())
	}
	n, err := d.st.Engine.PurgeSinkTombstones(ctx, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var left int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM public.item_view__g1 WHERE _deleted`).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if n != 1 || left != 0 {
		t.Errorf("the daemon's purge removed %d sink tombstones and left %d of the 2-day-old one in item_view__g1 (retention 1 day), want it purged", n, left)
	}
}
