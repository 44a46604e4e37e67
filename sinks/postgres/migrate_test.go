package postgres

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks"
)

func TestNewRejectsInvalidViews(t *testing.T) {
	valid := func() View { return ordersView("orders") }
	tests := []struct {
		name   string
		change func(v *View)
	}{
		{"empty name", func(v *View) { v.Name = "" }},
		{"empty table", func(v *View) { v.Table = "" }},
		{"table too long", func(v *View) { v.Table = strings.Repeat("t", 60) }},
		{"no columns", func(v *View) { v.Columns = nil }},
		{"no id", func(v *View) { v.ID = nil }},
		{"id not a column", func(v *View) { v.ID = []string{"nope"} }},
		{"duplicate column", func(v *View) { v.Columns = append(v.Columns, Column{Name: "id", Type: "text"}) }},
		{"reserved column", func(v *View) { v.Columns = append(v.Columns, Column{Name: "_rev", Type: "bigint"}) }},
		{"type with SQL after it", func(v *View) { v.Columns[1].Type = "text); DROP TABLE x; --" }},
		{"type with a default", func(v *View) { v.Columns[1].Type = "text default 'x'" }},
		{"type with a constraint word", func(v *View) { v.Columns[1].Type = "text not null" }},
		{"index on unknown column", func(v *View) { v.Indexes = []Index{{Fields: []string{"nope"}}} }},
		{"index path into a scalar column", func(v *View) { v.Indexes = []Index{{Fields: []string{"total.x"}}} }},
		{"index path with empty element", func(v *View) { v.Indexes = []Index{{Fields: []string{"customer..id"}}} }},
		{"negative generation", func(v *View) { v.Generation = -1 }},
		{"system column name", func(v *View) { v.Columns = append(v.Columns, Column{Name: "xmin", Type: "double precision"}) }},
		{"schema of PostgreSQL's", func(v *View) { v.Schema = "pg_reports" }},
		{"json id", func(v *View) { v.Columns[0].Type = "json" }},
		{"index on a json column", func(v *View) {
			v.Columns = append(v.Columns, Column{Name: "raw", Type: "json[]"})
			v.Indexes = []Index{{Fields: []string{"raw"}}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := valid()
			tt.change(&v)
			if _, err := New(&pgxpool.Pool{}, []View{v}); !errors.Is(err, ErrInvalidView) {
				t.Errorf("New: %v, want ErrInvalidView", err)
			}
		})
	}
	t.Run("same view twice", func(t *testing.T) {
		if _, err := New(&pgxpool.Pool{}, []View{valid(), valid()}); !errors.Is(err, ErrInvalidView) {
			t.Errorf("New: %v, want ErrInvalidView", err)
		}
	})
	t.Run("accepted types", func(t *testing.T) {
		v := valid()
		for _, typ := range []string{"numeric(10, 2)", "timestamp(3) with time zone", "character varying(20)", "int[][]", "pg_catalog.text"} {
			v.Columns = append(v.Columns, Column{Name: "c" + typ, Type: typ})
		}
		if _, err := New(&pgxpool.Pool{}, []View{v}); err != nil {
			t.Errorf("New: %v", err)
		}
	})
}

func TestMigrateIsIdempotent(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := newSink(t, pool, ordersView("orders"))
	if err := s.Write(t.Context(), []sinks.Doc{order("orders", 1, 1)}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate again: %v", err)
		}
	}
	if n := count(t, pool, "orders"); n != 1 {
		t.Errorf("%d rows after migrating again, want 1", n)
	}
	if got := indexes(t, pool, "orders__g1"); len(got) != 3 { // primary key and two declared
		t.Errorf("indexes = %v, want the primary key and two declared", got)
	}
}

func TestMigrateAddsColumns(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	v := ordersView("orders")
	s := newSink(t, pool, v)
	if err := s.Write(t.Context(), []sinks.Doc{order("orders", 1, 1)}); err != nil {
		t.Fatal(err)
	}
	// A column added in the middle of the definition: the table and the
	// reader view get it at the end.
	v.Columns = slices.Insert(v.Columns, 2, Column{Name: "note", Type: "text"})
	v.Columns = append(v.Columns, Column{Name: "tags", Type: "jsonb"})
	s = newSink(t, pool, v)
	d := order("orders", 1, 2)
	d.Fields["note"], d.Fields["tags"] = "hello", []any{"x"}
	if err := s.Write(t.Context(), []sinks.Doc{d}); err != nil {
		t.Fatal(err)
	}
	fields, found, err := reader{pool: pool, sink: s}.Get(t.Context(), "orders", "1", d.Key)
	if err != nil || !found {
		t.Fatalf("Get: %v, found %v", err, found)
	}
	if fields["note"] != "hello" {
		t.Errorf("note = %v, want hello", fields["note"])
	}
	want := []string{"id", "total", "placed_at", "day", "ref", "labels", "customer", "paid", "score", "note", "tags"}
	if got := columns(t, pool, "orders"); !slices.Equal(got, want) {
		t.Errorf("reader view columns = %v, want %v", got, want)
	}
}

func TestMigrateNeedsRebuild(t *testing.T) {
	tests := []struct {
		name   string
		change func(v *View)
		column string // the error names it
	}{
		{"removed column", func(v *View) { v.Columns = slices.Delete(v.Columns, 1, 2) }, `"total"`},
		{"changed type", func(v *View) { v.Columns[1].Type = "numeric(12,2)" }, `"total"`},
		{"changed array type", func(v *View) { v.Columns[5].Type = "integer[]" }, `"labels"`},
		{"changed primary key", func(v *View) { v.ID = []string{"id", "ref"} }, "primary key"},
	}
	pool, _ := testenv.Postgres(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := testenv.Name("orders_")
			newSink(t, pool, ordersView(name))
			v := ordersView(name)
			tt.change(&v)
			s, err := New(pool, []View{v})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Check(t.Context()); !errors.Is(err, ErrNeedsRebuild) || !strings.Contains(err.Error(), tt.column) {
				t.Fatalf("Check: %v, want ErrNeedsRebuild naming %s", err, tt.column)
			}
			err = s.Migrate(t.Context())
			if !errors.Is(err, ErrNeedsRebuild) || !strings.Contains(err.Error(), tt.column) {
				t.Fatalf("Migrate: %v, want ErrNeedsRebuild naming %s", err, tt.column)
			}
			if got := columns(t, pool, name+"__g1"); len(got) != len(ordersView(name).Columns)+3 {
				t.Errorf("table columns after a refused migration = %v, want them unchanged", got)
			}
		})
	}
	t.Run("same type spelt differently", func(t *testing.T) {
		name := testenv.Name("orders_")
		newSink(t, pool, ordersView(name))
		v := ordersView(name)
		v.Columns[2].Type = "timestamp with time zone"
		v.Columns[1].Type = "NUMERIC(10, 2)"
		v.Columns = append(v.Columns, Column{Name: "added", Type: "text"})
		s, err := New(pool, []View{v})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Check(t.Context()); err != nil {
			t.Errorf("Check: %v, want no problem", err)
		}
		if got := columns(t, pool, name+"__g1"); slices.Contains(got, "added") {
			t.Error("Check added a column")
		}
		if err := s.Migrate(t.Context()); err != nil {
			t.Errorf("Migrate: %v", err)
		}
	})
	t.Run("check before the first migration", func(t *testing.T) {
		s, err := New(pool, []View{ordersView(testenv.Name("orders_"))})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Check(t.Context()); err != nil {
			t.Errorf("Check: %v, want no problem", err)
		}
	})
}

func TestMigrateIndexes(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	v := ordersView("orders")
	newSink(t, pool, v)
	defs := strings.Join(indexes(t, pool, "orders__g1"), "\n")
	for _, want := range []string{`(((customer ->> 'id'::text))) WHERE (NOT _deleted)`, "UNIQUE INDEX", "(ref) WHERE (NOT _deleted)"} {
		if !strings.Contains(defs, want) {
			t.Errorf("indexes lack %q:\n%s", want, defs)
		}
	}
	v.Indexes = []Index{{Fields: []string{"paid", "customer.address.city"}}}
	newSink(t, pool, v)
	got := indexes(t, pool, "orders__g1")
	if len(got) != 2 || !strings.Contains(got[1], `(paid, (((customer -> 'address'::text) ->> 'city'::text)))`) {
		t.Errorf("after redeclaring, indexes = %v, want the primary key and the new one", got)
	}
}

func TestActivate(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	v := ordersView("orders")
	s := newSink(t, pool, v)
	if err := s.Write(t.Context(), []sinks.Doc{order("orders", 1, 1)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Activate(t.Context(), "orders", 2); !errors.Is(err, ErrNoGeneration) {
		t.Fatalf("Activate a generation never created: %v, want ErrNoGeneration", err)
	}
	if err := s.CreateGeneration(t.Context(), "orders", 2); err != nil {
		t.Fatal(err)
	}
	v.Generation = 2
	next, err := New(pool, []View{v})
	if err != nil {
		t.Fatal(err)
	}
	if err := next.Write(t.Context(), []sinks.Doc{order("orders", 2, 1), order("orders", 3, 1)}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, pool, "orders"); n != 1 {
		t.Fatalf("before activation readers see %d rows, want generation 1's one", n)
	}
	if err := s.Activate(t.Context(), "orders", 2); err != nil {
		t.Fatal(err)
	}
	if n := count(t, pool, "orders"); n != 2 {
		t.Fatalf("after activation readers see %d rows, want generation 2's two", n)
	}
}

// TestHostileIdentifiers declares names made to break out of quoting; they
// must end up as ordinary, oddly named objects.
func TestHostileIdentifiers(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	if _, err := pool.Exec(t.Context(), "CREATE TABLE y (a int)"); err != nil {
		t.Fatal(err)
	}
	hostile := `x"; drop table y; --`
	v := View{
		Name:    hostile,
		Schema:  `s"; drop table y; --`,
		Table:   hostile,
		Columns: []Column{{Name: hostile, Type: "text"}, {Name: `c'); drop table y; --`, Type: "jsonb"}},
		ID:      []string{hostile},
		Indexes: []Index{{Fields: []string{`c'); drop table y; --.k'); drop table y; --`}}, {Fields: []string{`c'); drop table y; --.\'`}}},
	}
	s := newSink(t, pool, v)
	doc := sinks.Doc{View: hostile, ID: "1", Key: map[string]any{hostile: `'; drop table y; --`}, Rev: 1,
		Fields: map[string]any{`c'); drop table y; --`: map[string]any{"k": `"; drop table y; --`}}}
	if err := s.Write(t.Context(), []sinks.Doc{doc}); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := count(t, pool, "y"); n != 0 {
		t.Fatalf("table y has %d rows", n)
	}
	got, found, err := reader{pool: pool, sink: s}.Get(t.Context(), hostile, "1", doc.Key)
	if err != nil || !found {
		t.Fatalf("Get: %v, found %v", err, found)
	}
	b, _ := json.Marshal(got)
	if want := `{"c'); drop table y; --":{"k":"\"; drop table y; --"},"x\"; drop table y; --":"'; drop table y; --"}`; string(b) != want {
		t.Errorf("read back %s, want %s", b, want)
	}
}

func count(t *testing.T, pool *pgxpool.Pool, table string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM "+quote(table)).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

func indexes(t *testing.T, pool *pgxpool.Pool, table string) []string {
	t.Helper()
	rows, err := pool.Query(t.Context(), "SELECT indexdef FROM pg_indexes WHERE tablename = $1 ORDER BY indexname LIKE '%_pkey' DESC, indexname", table)
	if err != nil {
		t.Fatal(err)
	}
	defs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return defs
}

func columns(t *testing.T, pool *pgxpool.Pool, table string) []string {
	t.Helper()
	rows, err := pool.Query(t.Context(), "SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position", table)
	if err != nil {
		t.Fatal(err)
	}
	cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return cols
}
