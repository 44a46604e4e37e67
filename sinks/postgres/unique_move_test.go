package postgres

import (
	"errors"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks"
)

// TestUniqueValueMovedInOneBatch: doc 2 gives up its ref and doc 1
// takes it, in one batch. The batch as a whole satisfies the unique index
// (and a retry of doc 1 succeeds at once), so no doc may be refused: a
// refusal sets doc 1 aside for good and the view never converges.
func TestUniqueValueMovedInOneBatch(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := newSink(t, pool, ordersView("orders_move"))
	ctx := t.Context()
	if err := s.Write(ctx, []sinks.Doc{order("orders_move", 2, 1)}); err != nil {
		t.Fatal(err)
	}
	one := order("orders_move", 1, 1)
	one.Fields["ref"] = "00000000-0000-0000-0000-000000000002" // taken from doc 2
	two := order("orders_move", 2, 2)
	two.Fields["ref"] = "00000000-0000-0000-0000-000000000099" // doc 2 moves away
	err := s.Write(ctx, []sinks.Doc{one, two})
	var be *sinks.BatchError
	if errors.As(err, &be) {
		for i, why := range be.Failed {
			if errors.Is(why, sinks.ErrRefused) {
				// Prove it was not the doc's fault: written alone now, it is taken.
				again := s.Write(ctx, []sinks.Doc{one})
				t.Fatalf("doc %d refused (%v), though the batch is consistent; writing it again gives %v", i, why, again)
			}
		}
	}
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
}
