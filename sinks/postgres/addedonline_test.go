package postgres

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks"
)

// abDoc is document id of abView with its fields; nil fields delete it.
func abDoc(id int, rev int64, fields map[string]any) sinks.Doc {
	n := json.Number(fmt.Sprint(id))
	d := sinks.Doc{View: "v", ID: string(n), Key: map[string]any{"id": n}, Rev: rev, Deleted: fields == nil}
	if fields != nil {
		d.Fields = maps.Clone(fields)
		d.Fields["id"] = n
	}
	return d
}

// storedB is column b of every row of v's table, tombstones included,
// "NULL" for a null.
func storedB(t *testing.T, pool *pgxpool.Pool) map[int64]string {
	t.Helper()
	rows, err := pool.Query(t.Context(), `SELECT id, coalesce(b, 'NULL') FROM v__g1`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]string{}
	for rows.Next() {
		var id int64
		var b string
		if err := rows.Scan(&id, &b); err != nil {
			t.Fatal(err)
		}
		out[id] = b
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestColumnAddedOnlineByANewerFileWrittenNull: a rolling deploy, one
// instance on a file that added field b (its column added online), one on
// the file before, whose recorded definition lacks b too, restarting. The
// old one migrates, keeps b in the table and the reader view, and its
// upserts (inserts, updates and deletes) leave b NULL: its documents lack
// the field, and the newer file's value would be stale.
func TestColumnAddedOnlineByANewerFileWrittenNull(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	ctx := t.Context()
	newSink(t, pool, abView("a"))
	newer := newSink(t, pool, abView("a", "b"))
	err := newer.Write(ctx, []sinks.Doc{
		abDoc(1, 1, map[string]any{"a": "one", "b": "new-1"}),
		abDoc(2, 1, map[string]any{"a": "two", "b": "new-2"}),
		abDoc(3, 1, map[string]any{"a": "three", "b": "new-3"}),
	})
	if err != nil {
		t.Fatal(err)
	}

	old := abView("a")
	old.Recorded = []string{"id", "a"}
	s := newSink(t, pool, old)
	if got := s.ForeignColumns(); !slices.Equal(got["v"], []string{"b"}) || len(got) != 1 {
		t.Errorf("ForeignColumns = %v, want v: [b]", got)
	}
	if got, want := columns(t, pool, "v"), []string{"id", "a", "b"}; !slices.Equal(got, want) {
		t.Errorf("reader view columns = %v, want %v (the newer file's readers keep b)", got, want)
	}
	err = s.Write(ctx, []sinks.Doc{
		abDoc(1, 2, map[string]any{"a": "one-b"}),
		abDoc(2, 2, nil),
		abDoc(4, 1, map[string]any{"a": "four"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]string{1: "NULL", 2: "NULL", 3: "new-3", 4: "NULL"}
	if got := storedB(t, pool); !maps.Equal(got, want) {
		t.Errorf("column b after the old file's writes = %v, want %v (3 untouched)", got, want)
	}

	check, err := New(pool, []View{old})
	if err != nil {
		t.Fatal(err)
	}
	if err := check.Check(ctx); err != nil || !slices.Equal(check.ForeignColumns()["v"], []string{"b"}) {
		t.Errorf("Check: %v, foreign %v; want nil and [b]", err, check.ForeignColumns())
	}
}

// TestColumnNotAddedOnlineStillNeedsRebuild: a column the file lacks is
// refused when the recorded definition declares it (the file removed it:
// its stored values would be stale) or when no definition is recorded
// (nothing tells); so is a retyped column or a changed key whatever the
// recorded definition says.
func TestColumnNotAddedOnlineStillNeedsRebuild(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	newSink(t, pool, abView("a", "b"))
	retyped := abView("a", "b")
	retyped.Columns[2].Type = "integer"
	rekeyed := abView("a", "b")
	rekeyed.ID = []string{"id", "a"}
	for _, tc := range []struct {
		name     string
		view     View
		recorded []string
	}{
		{"removed", abView("a"), []string{"id", "a", "b"}},
		{"none recorded", abView("a"), nil},
		{"retyped", retyped, []string{"id", "a"}},
		{"key changed", rekeyed, []string{"id", "a"}},
	} {
		tc.view.Recorded = tc.recorded
		s, err := New(pool, []View{tc.view})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Check(t.Context()); !errors.Is(err, ErrNeedsRebuild) {
			t.Errorf("%s: Check = %v, want ErrNeedsRebuild", tc.name, err)
		}
		if err := s.Migrate(t.Context()); !errors.Is(err, ErrNeedsRebuild) {
			t.Errorf("%s: Migrate = %v, want ErrNeedsRebuild", tc.name, err)
		}
		if got := s.ForeignColumns(); len(got) > 0 {
			t.Errorf("%s: ForeignColumns = %v, want none", tc.name, got)
		}
	}
	if got, want := columns(t, pool, "v__g1"), []string{"id", "a", "b", "_rev", "_deleted", "_updated_at"}; !slices.Equal(got, want) {
		t.Errorf("table columns = %v, want %v (untouched)", got, want)
	}
}
