package postgres

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks"
)

// TestMigrateOtherSchemaLongNames: a view in a schema of its own,
// with a 59-byte quoted table name, gains a field and an index on it.
func TestMigrateOtherSchemaLongNames(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	table := "Odd \"Name\" " + strings.Repeat("x", 59-len("Odd \"Name\" "))
	v := View{Name: "m", Schema: "Rep orts", Table: table, ID: []string{"id"}, Columns: []Column{
		{Name: "id", Type: "bigint"}, {Name: "a", Type: "text"},
	}}
	s := newSink(t, pool, v)
	doc := sinks.Doc{View: "m", ID: "1", Key: map[string]any{"id": json.Number("1")}, Rev: 1, Fields: map[string]any{"id": json.Number("1"), "a": "x"}}
	if err := s.Write(t.Context(), []sinks.Doc{doc}); err != nil {
		t.Fatal(err)
	}
	v.Columns = append(v.Columns, Column{Name: "b c", Type: "timestamptz"})
	v.Indexes = []Index{{Fields: []string{"b c"}, Unique: true}, {Fields: []string{"a"}}}
	s2 := newSink(t, pool, v)
	if err := s2.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	doc.Rev = 2
	doc.Fields["b c"] = "2024-01-01T00:00:00Z"
	if err := s2.Write(t.Context(), []sinks.Doc{doc}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM `+v2reader(s2)+` WHERE "b c" IS NOT NULL`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("count %d %v", n, err)
	}
	var idx int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM pg_indexes WHERE schemaname = 'Rep orts'`).Scan(&idx); err != nil || idx != 3 {
		t.Fatalf("indexes %d %v, want 3", idx, err)
	}
	// Purge keeps live rows and removes old tombstones only.
	del := sinks.Doc{View: "m", ID: "1", Key: map[string]any{"id": json.Number("1")}, Rev: 3, Deleted: true}
	if err := s2.Write(t.Context(), []sinks.Doc{del}); err != nil {
		t.Fatal(err)
	}
	if got, err := s2.PurgeTombstones(t.Context(), 0); err != nil || got != 1 {
		t.Fatalf("purge %d %v", got, err)
	}
}

func v2reader(s *Sink) string { return s.list[0].reader().Sanitize() }
