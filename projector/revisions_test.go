package projector

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/internal/pglock"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
)

// revsFixture is a migrated state with view v, and a document "gone"
// deleted eight days ago at revision 5.
func revsFixture(t *testing.T) (*state, *pgxpool.Pool) {
	t.Helper()
	pool, _ := testenv.Postgres(t)
	st := &state{pool: pool, schema: "projector"}
	if err := st.migrate(t.Context(), &projections.Plan{Views: []*projections.View{{Name: "v"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(t.Context(), `INSERT INTO projector.revs (view, doc_id, rev, deleted_at)
		VALUES ('v', 'gone', 5, now() - interval '8 days')`); err != nil {
		t.Fatal(err)
	}
	return st, pool
}

// bumpIn assigns doc its next revision in a transaction of its own.
func bumpIn(ctx context.Context, st *state, tx pgx.Tx, doc string) (int64, error) {
	revs, err := pgTx{s: st, tx: tx}.revisions(ctx, "v", []string{doc}, true)
	return revs[doc], err
}

// waitForLockWait polls until a session waits on a lock while running a
// statement containing what.
func waitForLockWait(t *testing.T, pool *pgxpool.Pool, what string) {
	t.Helper()
	conn, err := pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := pglock.Poll(ctx, conn, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
		WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%' || $1 || '%')`, what); err != nil {
		t.Fatalf("no session came to wait on %q: %v", what, err)
	}
}

// TestCollectRevisionsRaisesTheFloor: a deleted document's revision goes
// after the retention, the floor takes it, and the document created again
// starts above it; live and recently deleted documents keep theirs.
func TestCollectRevisionsRaisesTheFloor(t *testing.T) {
	st, pool := revsFixture(t)
	ctx := t.Context()
	if _, err := pool.Exec(ctx, `INSERT INTO projector.revs (view, doc_id, rev, deleted_at) VALUES
		('v', 'live', 9, NULL), ('v', 'recent', 7, now() - interval '1 day')`); err != nil {
		t.Fatal(err)
	}
	n, err := st.collectRevisions(ctx, "v", 7*24*time.Hour, 100)
	if err != nil || n != 1 {
		t.Fatalf("collected %d, %v; want 1", n, err)
	}
	var left []string
	rows, _ := pool.Query(ctx, `SELECT doc_id FROM projector.revs ORDER BY doc_id`)
	if left, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil || len(left) != 2 || left[0] != "live" || left[1] != "recent" {
		t.Fatalf("revisions left: %v, %v; want live, recent", left, err)
	}
	var rev int64
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { rev, err = bumpIn(ctx, st, tx, "gone"); return err })
	if err != nil || rev <= 5 {
		t.Fatalf("revision of the document created again: %d, %v; want above the collected 5", rev, err)
	}
}

// TestRevisionCollectionWaitsForBatches: a collection that starts while a
// batch holds the view's floor waits for it, and then keeps a document the
// batch brought back.
func TestRevisionCollectionWaitsForBatches(t *testing.T) {
	st, pool := revsFixture(t)
	ctx := t.Context()
	batch, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer batch.Rollback(ctx)
	if _, err := bumpIn(ctx, st, batch, "other"); err != nil {
		t.Fatal(err)
	}
	done := make(chan int64, 1)
	go func() {
		n, err := st.collectRevisions(ctx, "v", 7*24*time.Hour, 100)
		if err != nil {
			t.Error(err)
		}
		done <- n
	}()
	waitForLockWait(t, pool, "FOR NO KEY UPDATE")
	bumped, err := bumpIn(ctx, st, batch, "gone")
	if err != nil || bumped <= 5 {
		t.Fatalf("bump of gone: %d, %v; want above 5", bumped, err)
	}
	if err := batch.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if n := <-done; n != 0 {
		t.Errorf("collected %d revisions; want 0: gone was computed again", n)
	}
	var rev int64
	if err := pool.QueryRow(ctx, `SELECT rev FROM projector.revs WHERE doc_id = 'gone'`).Scan(&rev); err != nil || rev != bumped {
		t.Errorf("gone's revision: %d, %v; want %d", rev, err, bumped)
	}
}

// TestBatchWaitsForRevisionCollection: a batch that creates a document
// again while its revision is being collected waits for the collection and
// starts above the floor it raised, not at 1: its sinks still hold the
// tombstone at revision 5.
func TestBatchWaitsForRevisionCollection(t *testing.T) {
	st, pool := revsFixture(t)
	ctx := t.Context()
	// The collection's own statements, held open at the point where the
	// revision is deleted and the floor raised but not committed.
	collect, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer collect.Rollback(ctx)
	for _, q := range []string{
		`SELECT 1 FROM projector.rev_floors WHERE view = 'v' FOR NO KEY UPDATE`,
		`DELETE FROM projector.revs WHERE view = 'v' AND doc_id = 'gone'`,
		`UPDATE projector.rev_floors SET floor = 5 WHERE view = 'v'`,
	} {
		if _, err := collect.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	got := make(chan int64, 1)
	go func() {
		var rev int64
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { var err error; rev, err = bumpIn(ctx, st, tx, "gone"); return err })
		if err != nil {
			t.Error(err)
		}
		got <- rev
	}()
	waitForLockWait(t, pool, "INSERT INTO")
	if err := collect.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if rev := <-got; rev <= 5 {
		t.Errorf("revision of the document created during the collection: %d; want above the floor 5", rev)
	}
}
