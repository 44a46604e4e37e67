package postgres

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks"
)

func swapView(name string) View {
	return View{Name: name, Table: name, ID: []string{"id"}, Columns: []Column{
		{Name: "id", Type: "bigint"}, {Name: "u", Type: "text"},
	}, Indexes: []Index{{Fields: []string{"u"}, Unique: true}}}
}

func swapDoc(view, id string, rev int64, u string) sinks.Doc {
	return sinks.Doc{View: view, ID: id, Key: map[string]any{"id": json.Number(id)}, Rev: rev,
		Fields: map[string]any{"id": json.Number(id), "u": u}}
}

func storedUnique(t *testing.T, s *Sink, table string) string {
	t.Helper()
	var got string
	if err := s.pool.QueryRow(t.Context(), `SELECT coalesce(string_agg(id || '=' || u, ',' ORDER BY id), '') FROM `+quote(table)).Scan(&got); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestUniqueValuesSwappedInOneBatch: docs 1 and 2 swap their unique
// values in one batch (a cycle, where TestUniqueValuesMovedAlongAChain is
// a chain). The batch as a whole satisfies the unique index, so neither
// may be refused, though each, written alone, collides with the other's
// stored value.
func TestUniqueValuesSwappedInOneBatch(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := newSink(t, pool, swapView("sw"))
	if err := s.Write(t.Context(), []sinks.Doc{swapDoc("sw", "1", 1, "a"), swapDoc("sw", "2", 1, "b")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(t.Context(), []sinks.Doc{swapDoc("sw", "1", 2, "b"), swapDoc("sw", "2", 2, "a")}); err != nil {
		t.Fatalf("a swap of unique values in one consistent batch: %v; want both written", err)
	}
	if got := storedUnique(t, s, "sw"); got != "1=b,2=a" {
		t.Fatalf("stored %q, want 1=b,2=a", got)
	}
}

// TestUniqueSwapKeepsRefusals: writing conflicting docs together neither
// lets an outdated doc win nor takes a refused doc's value away from it.
func TestUniqueSwapKeepsRefusals(t *testing.T) {
	tests := []struct {
		name    string
		batch   []sinks.Doc
		rev2    int64 // of doc 2 in the table; 1 when zero
		refused []int // batch indexes, refused as conflicts
		want    string
	}{{
		name:  "a three-doc cycle",
		batch: []sinks.Doc{swapDoc("t", "1", 2, "b"), swapDoc("t", "2", 2, "c"), swapDoc("t", "3", 2, "a")},
		want:  "1=b,2=c,3=a,4=x",
	}, {
		name:    "a swap beside a doc taking a value held outside the batch",
		batch:   []sinks.Doc{swapDoc("t", "1", 2, "b"), swapDoc("t", "2", 2, "a"), swapDoc("t", "3", 2, "x")},
		refused: []int{2},
		want:    "1=b,2=a,3=c,4=x",
	}, {
		name:    "a swap whose other half is refused",
		batch:   []sinks.Doc{swapDoc("t", "1", 2, "b"), swapDoc("t", "2", 2, "x")},
		refused: []int{0, 1},
		want:    "1=a,2=b,3=c,4=x",
	}, {
		name: "a swap with an outdated doc",
		// The table holds doc 2 at rev 5: its rev-3 version is stale, and
		// doc 1 cannot take b, which doc 2 keeps.
		rev2:    5,
		batch:   []sinks.Doc{swapDoc("t", "1", 2, "b"), swapDoc("t", "2", 3, "a")},
		refused: []int{0},
		want:    "1=a,2=b,3=c,4=x",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pool, _ := testenv.Postgres(t)
			s := newSink(t, pool, swapView("t"))
			rev2 := max(tt.rev2, 1)
			if err := s.Write(t.Context(), []sinks.Doc{swapDoc("t", "1", 1, "a"), swapDoc("t", "2", rev2, "b"),
				swapDoc("t", "3", 1, "c"), swapDoc("t", "4", 1, "x")}); err != nil {
				t.Fatal(err)
			}
			err := s.Write(t.Context(), tt.batch)
			refused := map[int]bool{}
			var be *sinks.BatchError
			switch {
			case errors.As(err, &be):
				for i, why := range be.Failed {
					if !errors.Is(why, sinks.ErrConflict) {
						t.Errorf("doc %d: %v, want a conflict", i, why)
					}
					refused[i] = true
				}
			case err != nil:
				t.Fatal(err)
			}
			for _, i := range tt.refused {
				if !refused[i] {
					t.Errorf("doc %d written, want it refused", i)
				}
				delete(refused, i)
			}
			for i := range refused {
				t.Errorf("doc %d refused (%v), want it written", i, be.Failed[i])
			}
			if got := storedUnique(t, s, "t"); got != tt.want {
				t.Errorf("stored %q, want %q", got, tt.want)
			}
		})
	}
}
