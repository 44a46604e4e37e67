package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/testenv"
)

// A migration chosen as a deadlock victim runs again: here another session
// holds the reader view and so its table, which the migration waits for,
// then asks for the migration lock, which the migration holds; PostgreSQL
// breaks the cycle by cancelling the migration (the other session checks
// for deadlocks later).
func TestMigrateRetriedAfterDeadlock(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	newSink(t, pool, abView("a"))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	other, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = other.Rollback(context.Background()) }()
	if _, err := other.Exec(ctx, "SET LOCAL deadlock_timeout = '30s'"); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Exec(ctx, "LOCK TABLE v IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	s, err := New(pool, []View{abView("a", "b")})
	if err != nil {
		t.Fatal(err)
	}
	migrated := make(chan error, 1)
	go func() { migrated <- s.Migrate(ctx) }()
	// The migration holds its lock and waits for the reader view.
	for waiting := false; !waiting; {
		if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
			WHERE NOT l.granted AND c.relname IN ('v', 'v__g1'))`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-migrated:
			t.Fatalf("migration ended while the reader view was locked: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	// Now the other session waits for the migration's lock: a deadlock.
	if _, err := other.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrateLock); err != nil {
		t.Fatal(err)
	}
	if err := other.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-migrated; err != nil {
		t.Fatalf("migration after the deadlock: %v", err)
	}
	if got := columns(t, pool, "v"); len(got) != 3 {
		t.Errorf("reader view columns = %v, want id, a, b", got)
	}
}
