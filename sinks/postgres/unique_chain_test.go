package postgres

import (
	"errors"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks"
)

// TestUniqueValuesMovedAlongAChain: doc 3 gives up its ref to doc 2,
// which gives up its own to doc 1, in one batch. The batch as a whole
// satisfies the unique index, so no doc is refused: rows rejected for what
// the batch held then are written again in passes until one writes none.
func TestUniqueValuesMovedAlongAChain(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := newSink(t, pool, ordersView("orders_chain"))
	ctx := t.Context()
	if err := s.Write(ctx, []sinks.Doc{order("orders_chain", 2, 1), order("orders_chain", 3, 1)}); err != nil {
		t.Fatal(err)
	}
	one := order("orders_chain", 1, 1)
	one.Fields["ref"] = "00000000-0000-0000-0000-000000000002" // taken from doc 2
	two := order("orders_chain", 2, 2)
	two.Fields["ref"] = "00000000-0000-0000-0000-000000000003" // taken from doc 3
	three := order("orders_chain", 3, 2)
	three.Fields["ref"] = "00000000-0000-0000-0000-000000000099" // doc 3 moves away
	err := s.Write(ctx, []sinks.Doc{one, two, three})
	var be *sinks.BatchError
	if errors.As(err, &be) {
		for i, why := range be.Failed {
			if errors.Is(why, sinks.ErrRefused) {
				again := s.Write(ctx, []sinks.Doc{[]sinks.Doc{one, two, three}[i]})
				t.Fatalf("doc %d refused (%v), though the batch is consistent; writing it again gives %v", i, why, again)
			}
		}
	}
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
}
