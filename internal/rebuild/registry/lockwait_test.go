package registry

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/projectorhq/projector/internal/testenv"
)

// verifyingGeneration registers generation 2 of view v and moves it to
// verifying, ready for a swap.
func verifyingGeneration(t *testing.T, r *Registry) {
	t.Helper()
	ctx := context.Background()
	if err := r.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	g := Generation{View: "v", Number: 2, Source: SourceState, Stores: []string{StorePostgres},
		Targets: map[string]string{StorePostgres: `"public"."v__g2"`}}
	initial := Generation{Stores: []string{StorePostgres}, Targets: map[string]string{StorePostgres: `"public"."v__g1"`}}
	if _, err := r.Register(ctx, g, initial); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Transition(ctx, "v", 2, []State{Building}, Verifying, "", false); err != nil {
		t.Fatal(err)
	}
}

func stateOf(t *testing.T, r *Registry, view string, number int) State {
	t.Helper()
	snap, err := r.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	g, ok := snap.Get(view, number)
	if !ok {
		t.Fatalf("%s generation %d not found", view, number)
	}
	return g.State
}

// A swap whose readers cannot be moved yet (others in the way, as a reader
// view held by a long report) is rolled back and tried again: it commits
// once they are gone, as one change.
func TestSwapTriedAgainWhileOthersInTheWay(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	r := New(pool, "")
	verifyingGeneration(t, r)
	before, err := r.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	attempts := 0
	v, err := r.WithLockWait(time.Minute).SwapWith(context.Background(), "v", 2, 10, "c", func(pgx.Tx) error {
		attempts++
		if attempts < 3 {
			return fmt.Errorf("readers busy: %w", ErrTryAgain)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("swap: %v", err)
	}
	if attempts != 3 {
		t.Errorf("the swap ran %d times, want 3 (two refused, then committed)", attempts)
	}
	if s := stateOf(t, r, "v", 2); s != Active {
		t.Errorf("generation 2 is %s, want active", s)
	}
	if v != before.Version+1 {
		t.Errorf("version %d after the swap, want %d: the refused attempts must leave nothing", v, before.Version+1)
	}
}

// Others in the way for longer than the lock wait: the swap gives up,
// saying why, and leaves the generation verifying for --resume.
func TestSwapGivesUpAfterItsLockWait(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	r := New(pool, "")
	verifyingGeneration(t, r)
	inTheWay := errors.New("pid 42 holds the reader view")
	_, err := r.WithLockWait(300*time.Millisecond).SwapWith(context.Background(), "v", 2, 10, "c", func(pgx.Tx) error {
		return fmt.Errorf("%w: %w", inTheWay, ErrTryAgain)
	})
	if !errors.Is(err, ErrLockWait) || !errors.Is(err, inTheWay) {
		t.Fatalf("swap: %v, want ErrLockWait naming what was in the way", err)
	}
	if s := stateOf(t, r, "v", 2); s != Verifying {
		t.Errorf("generation 2 is %s, want still verifying", s)
	}
}
