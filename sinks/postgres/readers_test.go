package postgres

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/internal/testenv"
)

// readerRole creates a role for the test and grants it SELECT on the
// reader view v and on its column b, and comments the view.
func readerRole(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	role := testenv.Name("r_")
	exec(t, pool, "CREATE ROLE "+role)
	t.Cleanup(func() {
		// The test's database is dropped with its objects; the role is
		// the cluster's.
		ctx := context.Background() // t.Context() is done by now
		_, _ = pool.Exec(ctx, "DROP OWNED BY "+role)
		_, _ = pool.Exec(ctx, "DROP ROLE "+role)
	})
	exec(t, pool, "GRANT SELECT ON v TO "+role)
	exec(t, pool, "GRANT UPDATE (b) ON v TO "+role)
	exec(t, pool, "COMMENT ON VIEW v IS 'for readers'")
	return role
}

// checkReaderGrants fails the test unless role still has what readerRole
// gave it.
func checkReaderGrants(t *testing.T, pool *pgxpool.Pool, role string) {
	t.Helper()
	var sel, upd bool
	var comment *string
	err := pool.QueryRow(t.Context(), `SELECT has_table_privilege($1, 'public.v', 'SELECT'),
		has_column_privilege($1, 'public.v', 'b', 'UPDATE'), obj_description('public.v'::regclass, 'pg_class')`, role).Scan(&sel, &upd, &comment)
	if err != nil {
		t.Fatal(err)
	}
	if !sel || !upd {
		t.Errorf("role %s has SELECT %v, UPDATE (b) %v on the reader view, want both", role, sel, upd)
	}
	if comment == nil || *comment != "for readers" {
		t.Errorf("reader view comment = %v, want it kept", comment)
	}
}

func abView(cols ...string) View {
	v := View{Name: "v", Table: "v", ID: []string{"id"}, Columns: []Column{{Name: "id", Type: "bigint"}}}
	for _, c := range cols {
		v.Columns = append(v.Columns, Column{Name: c, Type: "text"})
	}
	return v
}

// A column added before others is added at the end of the reader view,
// so CREATE OR REPLACE VIEW keeps its grants and the views built on it.
func TestReaderGrantsSurviveColumnInsert(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	newSink(t, pool, abView("b"))
	role := readerRole(t, pool)
	exec(t, pool, "CREATE VIEW on_v AS SELECT * FROM v")
	newSink(t, pool, abView("a", "b"))
	checkReaderGrants(t, pool, role)
	if got, want := columns(t, pool, "v"), []string{"id", "b", "a"}; !slices.Equal(got, want) {
		t.Errorf("reader view columns = %v, want %v", got, want)
	}
}

// Activating a generation whose table has its columns in another order
// keeps the reader view's order, and so its grants.
func TestReaderGrantsSurviveActivate(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := newSink(t, pool, abView("b"))
	role := readerRole(t, pool)
	next := abView("a", "b")
	next.Generation = 2
	s2, err := New(pool, []View{next})
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.CreateGeneration(t.Context(), "v", 2); err != nil {
		t.Fatal(err)
	}
	if err := s2.Activate(t.Context(), "v", 2); err != nil {
		t.Fatal(err)
	}
	checkReaderGrants(t, pool, role)
	if got, want := columns(t, pool, "v"), []string{"id", "b", "a"}; !slices.Equal(got, want) {
		t.Errorf("reader view columns = %v, want %v", got, want)
	}
	// And back: generation 1 lacks a, which readers lose.
	if err := s.Activate(t.Context(), "v", 1); err != nil {
		t.Fatal(err)
	}
	checkReaderGrants(t, pool, role)
}

// A rebuild that removes a column needs the reader view created again: it
// keeps its grants and comment, unless other views depend on it, which
// is an error rather than a cascade.
func TestReaderRecreatedWithGrants(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := newSink(t, pool, abView("a", "b"))
	role := readerRole(t, pool)
	next := abView("b")
	next.Generation = 2
	s2, err := New(pool, []View{next})
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.CreateGeneration(t.Context(), "v", 2); err != nil {
		t.Fatal(err)
	}
	exec(t, pool, "CREATE VIEW on_v AS SELECT * FROM v")
	if err := s2.Activate(t.Context(), "v", 2); err == nil || !strings.Contains(err.Error(), "depend") {
		t.Fatalf("Activate with a dependent view: %v, want an error naming the dependency", err)
	}
	exec(t, pool, "DROP VIEW on_v")
	if err := s2.Activate(t.Context(), "v", 2); err != nil {
		t.Fatal(err)
	}
	checkReaderGrants(t, pool, role)
	if got, want := columns(t, pool, "v"), []string{"id", "b"}; !slices.Equal(got, want) {
		t.Errorf("reader view columns = %v, want %v", got, want)
	}
	if err := s.Activate(t.Context(), "v", 1); err != nil {
		t.Fatalf("Activate generation 1 again: %v", err)
	}
	checkReaderGrants(t, pool, role)
}

// Options an operator set on the reader view (security_barrier,
// security_invoker, check_option) survive a Migrate that adds a column and
// the recreation a removed column needs: CREATE OR REPLACE VIEW resets the
// options it is not given.
func TestReaderOptionsSurvive(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	newSink(t, pool, abView("a", "b"))
	exec(t, pool, "ALTER VIEW v SET (security_barrier = true, security_invoker = true, check_option = local)")
	want := []string{"check_option=local", "security_barrier=true", "security_invoker=true"}
	options := func() []string {
		t.Helper()
		var got []string
		if err := pool.QueryRow(t.Context(), `SELECT coalesce(reloptions, '{}') FROM pg_class WHERE oid = 'v'::regclass`).Scan(&got); err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		return got
	}
	newSink(t, pool, abView("a", "b", "c")) // a column added: replaced
	if got := options(); !slices.Equal(got, want) {
		t.Errorf("options after a column was added = %v, want %v", got, want)
	}
	next := abView("b")
	next.Generation = 2
	s2, err := New(pool, []View{next})
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.CreateGeneration(t.Context(), "v", 2); err != nil {
		t.Fatal(err)
	}
	if err := s2.Activate(t.Context(), "v", 2); err != nil { // a column removed: recreated
		t.Fatal(err)
	}
	if got := options(); !slices.Equal(got, want) {
		t.Errorf("options after the view was recreated = %v, want %v", got, want)
	}
}

// TestReadersAheadOfTheRegistry: readers on generation 2 while the sink is
// given generation 1, as after projector's registry tables were lost or
// restored from an older backup: a start pointed readers at a new, empty
// generation 1. It refuses, naming both, and readers keep generation 2.
func TestReadersAheadOfTheRegistry(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	newSink(t, pool, abView("a"))
	next := abView("a")
	next.Generation = 2
	s2, err := New(pool, []View{next})
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.CreateGeneration(t.Context(), "v", 2); err != nil {
		t.Fatal(err)
	}
	if err := s2.Activate(t.Context(), "v", 2); err != nil {
		t.Fatal(err)
	}
	exec(t, pool, `INSERT INTO v__g2 (id, a, _rev) VALUES (1, 'kept', 1)`)
	behind, err := New(pool, []View{abView("a")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = behind.MigrateTables(t.Context())
	if !errors.Is(err, ErrReadersAhead) || !strings.Contains(err.Error(), "generation 2") {
		t.Fatalf("migrate with the registry behind the readers: %v, want ErrReadersAhead naming generation 2", err)
	}
	var a string
	if err := pool.QueryRow(t.Context(), `SELECT a FROM v WHERE id = 1`).Scan(&a); err != nil || a != "kept" {
		t.Errorf("readers after the refusal: %q, %v; want generation 2's row", a, err)
	}
	// The registry serving generation 2 again: no refusal.
	if _, err := s2.MigrateTables(t.Context()); err != nil {
		t.Errorf("migrate at the readers' generation: %v", err)
	}
}
