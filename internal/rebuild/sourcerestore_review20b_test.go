package rebuild

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/internal/testenv"
)

// r20bRestoredSource makes the source database as a point-in-time recovery
// left it: items 1..20 as they were before the lost window (item 5 not yet
// renamed, item 500 not yet created), and item 21 inserted since the
// restore. It returns its WAL position now: the LSN every change of the
// new timeline starts from, below the positions the state holds from the
// lost window.
func r20bRestoredSource(t *testing.T, ctx context.Context) (*pgxpool.Pool, string, int64) {
	t.Helper()
	srcPool, srcURL := testenv.Postgres(t)
	if _, err := srcPool.Exec(ctx, `CREATE TABLE public.items (id bigint PRIMARY KEY, name text, qty bigint);
		INSERT INTO public.items SELECT g, 'item-' || g, g FROM generate_series(1, 21) g;`); err != nil {
		t.Fatal(err)
	}
	var lsn int64
	if err := srcPool.QueryRow(ctx, `SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint`).Scan(&lsn); err != nil {
		t.Fatal(err)
	}
	return srcPool, srcURL, lsn
}

// r20bWantSource is what the restored source holds.
func r20bWantSource() map[int64]*item {
	source := map[int64]*item{}
	for id := int64(1); id <= 21; id++ {
		source[id] = &item{Name: "item-" + itoa(id), Qty: id}
	}
	return source
}

// r20bRefused accepts a rebuild that refuses because the source's
// positions went back, and fails on any other error.
func r20bRefused(t *testing.T, err error) {
	t.Helper()
	msg := strings.ToLower(err.Error())
	if !strings.Contains(msg, "lsn") && !strings.Contains(msg, "position") {
		t.Fatalf("rebuild --from source: %v", err)
	}
	t.Logf("rebuild --from source refused: %v", err)
}

// TestR20bRebuildFromSourceAfterSourceRestore: the source PostgreSQL was
// restored to a point in time (or replaced by a replica that had not
// received the last WAL, or by a new cluster), so its LSNs are now below
// the positions the state stored from the lost window. The daemon drops
// every later change of those rows as stale, and the only recovery the
// README offers for lost or diverged data, `rebuild --from source`, does
// not repair it either: its reads at the source's current LSN are older
// than the stored rows, so the view keeps a row the source no longer has
// and an update the source no longer has, while the rebuild reports
// success. A rebuild that re-read the source must either make the view
// match it or refuse, saying the source's positions went back.
func TestR20bRebuildFromSourceAfterSourceRestore(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	ctx := context.Background()
	_, srcURL, restored := r20bRestoredSource(t, ctx)

	// The state as the daemon left it before the restore: the old
	// timeline had gone further than the restored one (by 1 GiB of WAL).
	d.lsn = restored + 1<<30
	f.seed(d, 1, 20)
	if err := d.apply(ctx, map[int64]*item{5: {Name: "renamed in the lost window", Qty: 50}, 500: {Name: "created in the lost window", Qty: 1}}); err != nil {
		t.Fatal(err)
	}

	env := f.openEnv()
	_, err := Run(ctx, env, Options{View: "item_view", From: "source", Keep: 0, Chunk: 50,
		SourceURLs: map[string]string{"items": srcURL}})
	if err != nil {
		r20bRefused(t, err) // refusing, rather than serving the lost window, is a fix too
		return
	}
	f.wantDocs(r20bWantSource())
}

// TestR20bRebuildFromSourceAfterTruncateAndSourceRestore: as above, but
// the lost window held a TRUNCATE of the table (refilled since).
// projector.truncates keeps its position for good, and every change older
// than it is dropped, inserts of new keys included: after the restore,
// `rebuild --from source` reads every row of the source and applies none
// (and the daemon would drop every change of the source, new rows
// included, until the new timeline's WAL passes the truncate's LSN).
func TestR20bRebuildFromSourceAfterTruncateAndSourceRestore(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	ctx := context.Background()
	_, srcURL, restored := r20bRestoredSource(t, ctx)

	d.lsn = restored + 1<<30
	f.seed(d, 1, 20)
	d.lsn += 8
	if err := d.st.Engine.ProcessChanges(ctx, "items", []debezium.Change{{Kind: debezium.KindChange, Op: debezium.OpTruncate,
		Position: debezium.Position{Hi: d.lsn}}}); err != nil {
		t.Fatal(err)
	}
	refill := map[int64]*item{}
	for id := int64(1); id <= 20; id++ {
		refill[id] = &item{Name: "refilled-" + itoa(id), Qty: 100 + id}
	}
	if err := d.apply(ctx, refill); err != nil {
		t.Fatal(err)
	}

	env := f.openEnv()
	_, err := Run(ctx, env, Options{View: "item_view", From: "source", Keep: 0, Chunk: 50,
		SourceURLs: map[string]string{"items": srcURL}})
	if err != nil {
		r20bRefused(t, err)
		return
	}
	f.wantDocs(r20bWantSource())
}
