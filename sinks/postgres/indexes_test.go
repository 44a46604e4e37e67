package postgres

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks"
)

// emailsView has a table name long enough (50 bytes, 54 with the
// generation suffix) for index names to cut it.
func emailsView(table string) View {
	return View{Name: "v", Table: table,
		Columns: []Column{{Name: "id", Type: "bigint"}, {Name: "email", Type: "text"}, {Name: "name", Type: "text"}},
		ID:      []string{"id"},
		Indexes: []Index{{Fields: []string{"email"}, Unique: true}}}
}

// Generations of a long-named view share the cut of their table names;
// each must still get every index, the unique ones included.
func TestIndexesOfEveryGeneration(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	table := strings.Repeat("x", 50)
	s := newSink(t, pool, emailsView(table))
	if err := s.CreateGeneration(t.Context(), "v", 2); err != nil {
		t.Fatalf("CreateGeneration: %v", err)
	}
	// Another view whose table name shares the cut.
	other := emailsView(table + "yy")
	other.Name = "w"
	newSink(t, pool, other)
	for _, tbl := range []string{physicalName(table, 1), physicalName(table, 2), physicalName(table+"yy", 1)} {
		if got := uniqueEmailIndexes(t, pool, tbl); len(got) != 1 {
			t.Errorf("table %s has unique indexes on email %v, want one", tbl, got)
		}
	}
}

// Tables whose indexes were named before names hashed the table keep
// their indexes under the new names; a generation the old naming left
// without indexes gets them, and an index no longer declared goes.
func TestIndexesUpgradedFromLegacyNames(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	table := strings.Repeat("x", 50)
	v := emailsView(table)
	byName := Index{Fields: []string{"name"}}
	v.Indexes = append(v.Indexes, byName)
	s := newSink(t, pool, v)
	if err := s.CreateGeneration(t.Context(), "v", 2); err != nil {
		t.Fatal(err)
	}
	// As the old naming left them: generation 1 with its indexes under the
	// legacy names, generation 2 with none (its names were taken).
	g1, g2 := physicalName(table, 1), physicalName(table, 2)
	for _, ix := range v.Indexes {
		exec(t, pool, "ALTER INDEX "+quote(indexName(g1, ix))+" RENAME TO "+quote(legacyIndexName(g1, ix)))
		exec(t, pool, "DROP INDEX "+quote(indexName(g2, ix)))
	}
	legacy := indexNames(t, pool, g1)
	emailIndex := oid(t, pool, legacyIndexName(g1, v.Indexes[0]))

	v.Indexes = v.Indexes[:1] // the index on name is no longer declared
	s, err := New(pool, []View{v})
	if err != nil {
		t.Fatal(err)
	}
	// Generation 2 first: generation 1's indexes, whose names have the
	// same cut, are not its own and stay as they are.
	if err := s.CreateGeneration(t.Context(), "v", 2); err != nil {
		t.Fatal(err)
	}
	if got := indexNames(t, pool, g1); strings.Join(got, ",") != strings.Join(legacy, ",") {
		t.Errorf("creating generation 2 changed generation 1's indexes from %v to %v", legacy, got)
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := oid(t, pool, indexName(g1, v.Indexes[0])); got != emailIndex {
		t.Errorf("the legacy index was built again rather than renamed")
	}
	want := map[string][]string{g1: {indexName(g1, v.Indexes[0])}, g2: {indexName(g2, v.Indexes[0])}}
	for tbl, names := range want {
		if got := indexNames(t, pool, tbl); strings.Join(got, ",") != strings.Join(names, ",") {
			t.Errorf("table %s has indexes %v, want %v (legacy names were %v)", tbl, got, names, legacy)
		}
		if got := uniqueEmailIndexes(t, pool, tbl); len(got) != 1 {
			t.Errorf("table %s has unique indexes on email %v, want one", tbl, got)
		}
	}
}

// An index added to a table that holds rows is built concurrently, after
// the migration's transaction: a failed build (here duplicates under a
// unique index) leaves no invalid index behind, and an invalid index left
// by an interrupted build is dropped and built again.
func TestIndexAddedToExistingTable(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	v := emailsView("people")
	v.Indexes = nil
	s := newSink(t, pool, v)
	docs := []sinks.Doc{person(1, 1, "a@x"), person(2, 1, "a@x")}
	if err := s.Write(t.Context(), docs); err != nil {
		t.Fatal(err)
	}
	v.Indexes = emailsView("people").Indexes
	name := indexName("people__g1", v.Indexes[0])
	s, err := New(pool, []View{v})
	if err != nil {
		t.Fatal(err)
	}
	var pgErr *pgconn.PgError
	if err := s.Migrate(t.Context()); !errors.As(err, &pgErr) || pgErr.Code != "23505" {
		t.Fatalf("Migrate with duplicates under a new unique index: %v, want a unique violation", err)
	}
	if got := indexNames(t, pool, "people__g1"); len(got) != 0 {
		t.Fatalf("a failed build left indexes %v", got)
	}

	// What an interrupted concurrent build leaves: an invalid index under
	// the declared name.
	_, err = pool.Exec(t.Context(), "CREATE UNIQUE INDEX CONCURRENTLY "+quote(name)+" ON people__g1 (email) WHERE NOT _deleted")
	if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
		t.Fatalf("leaving an invalid index: %v", err)
	}
	if err := s.Write(t.Context(), []sinks.Doc{person(2, 2, "b@x")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	var valid bool
	if err := pool.QueryRow(t.Context(), "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)", quote(name)).Scan(&valid); err != nil || !valid {
		t.Errorf("index %s valid = %v (%v), want a valid index", name, valid, err)
	}
	if err := s.Write(t.Context(), []sinks.Doc{person(3, 1, "b@x")}); !errors.As(err, new(*sinks.BatchError)) {
		t.Errorf("Write of a duplicate email: %v, want it refused by the unique index", err)
	}
}

func person(id int, rev int64, email string) sinks.Doc {
	n := json.Number(fmt.Sprint(id))
	return sinks.Doc{View: "v", ID: string(n), Key: map[string]any{"id": n}, Rev: rev,
		Fields: map[string]any{"id": n, "email": email}}
}

func exec(t *testing.T, pool *pgxpool.Pool, sql string) {
	t.Helper()
	if _, err := pool.Exec(t.Context(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// indexNames lists the indexes of a table but its primary key.
func indexNames(t *testing.T, pool *pgxpool.Pool, table string) []string {
	t.Helper()
	rows, err := pool.Query(t.Context(), "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND tablename = $1 AND indexname NOT LIKE '%_pkey' ORDER BY indexname", table)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func uniqueEmailIndexes(t *testing.T, pool *pgxpool.Pool, table string) []string {
	t.Helper()
	rows, err := pool.Query(t.Context(), "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND tablename = $1 AND indexdef LIKE '%UNIQUE%(email)%'", table)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func oid(t *testing.T, pool *pgxpool.Pool, index string) uint32 {
	t.Helper()
	var n uint32
	if err := pool.QueryRow(t.Context(), "SELECT coalesce(to_regclass($1)::oid, 0)", quote(index)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
