package projector

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"github.com/projectorhq/projector/projections"
)

// scanRows is rowsByColumn without memState's index: every row of the
// source checked, as it was before the index.
func scanRows(s *memState, src *projections.Source, by []columnIn, cols []string) []stateRow {
	var out []stateRow
	for k, r := range s.rows[src.Name] {
		ok := !r.deleted
		for _, c := range by {
			v, has := text(r.data[c.col])
			ok = ok && has && slices.Contains(c.vals, v)
		}
		if ok {
			out = append(out, stateRow{Key: k, Data: slimRow(r.data, cols)})
		}
	}
	slices.SortFunc(out, func(a, b stateRow) int { return cmp.Compare(a.Key, b.Key) })
	return out
}

// TestMemStateIndexMatchesScan applies random inserts, updates, deletes,
// older (guarded) changes and rolled-back transactions to a memory state,
// and after each compares rowsByColumn, through the index, with a scan.
func TestMemStateIndexMatchesScan(t *testing.T) {
	ctx := context.Background()
	src := &projections.Source{Name: "s"}
	s := newMemState()
	rnd := rand.New(rand.NewPCG(1, 2))
	errRollback := errors.New("rolled back")
	lookups := [][]columnIn{
		{{col: "a", vals: []string{"0", "1"}}},
		{{col: "b", vals: []string{"x", "z"}}},
		{{col: "a", vals: []string{"2"}}, {col: "b", vals: []string{"y"}}},
		{{col: "c", vals: []string{"true"}}},
	}
	for i := range 2000 {
		var changes []rowChange
		for range 1 + rnd.IntN(4) {
			data := map[string]any{"a": rnd.IntN(4), "b": []string{"x", "y", "z"}[rnd.IntN(3)]}
			if rnd.IntN(3) == 0 {
				data["c"] = true // a column some rows lack
			}
			changes = append(changes, rowChange{Key: strconv.Itoa(rnd.IntN(50)), Data: data,
				PosHi: int64(i - rnd.IntN(3)), Deleted: rnd.IntN(5) == 0})
		}
		err := s.update(ctx, func(tx stateTx) error {
			if _, err := tx.apply(ctx, src, changes, rowShape{}); err != nil {
				return err
			}
			// Looked up inside the transaction too: an index built here
			// must survive the rollback.
			by := lookups[rnd.IntN(len(lookups))]
			if _, err := tx.rowsByColumn(ctx, src, by, nil, 0); err != nil {
				return err
			}
			if rnd.IntN(4) == 0 {
				return errRollback
			}
			return nil
		})
		if err != nil && !errors.Is(err, errRollback) {
			t.Fatal(err)
		}
		for _, by := range lookups {
			got, err := memTx{s}.rowsByColumn(ctx, src, by, []string{"a"}, 0)
			if err != nil {
				t.Fatal(err)
			}
			if want := scanRows(s, src, by, []string{"a"}); !reflect.DeepEqual(got, want) {
				t.Fatalf("step %d, rows by %v:\n got %v\nwant %v", i, by, got, want)
			}
		}
	}
}

// BenchmarkMemStateRowsByColumn looks up one row among 10,000 by a
// column, as a join of each record of a case does.
func BenchmarkMemStateRowsByColumn(b *testing.B) {
	ctx := context.Background()
	src := &projections.Source{Name: "s"}
	s := newMemState()
	var changes []rowChange
	for i := range 10_000 {
		changes = append(changes, rowChange{Key: strconv.Itoa(i), Data: map[string]any{"user": fmt.Sprint("u", i)}, PosHi: 1})
	}
	if err := s.update(ctx, func(tx stateTx) error { _, err := tx.apply(ctx, src, changes, rowShape{}); return err }); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		by := []columnIn{{col: "user", vals: []string{fmt.Sprint("u", i%10_000)}}}
		if rows, _ := (memTx{s}).rowsByColumn(ctx, src, by, nil, 0); len(rows) != 1 {
			b.Fatalf("%d rows", len(rows))
		}
	}
}
