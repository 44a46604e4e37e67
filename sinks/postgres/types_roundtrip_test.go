package postgres

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks"
)

// TestTypeMappingRoundTrip writes one doc carrying every field type and reads
// each column back as PostgreSQL's text.
func TestTypeMappingRoundTrip(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	cols := []Column{
		{Name: "id", Type: "bigint"},
		{Name: "amounts", Type: "numeric(10,2)[]"},
		{Name: "big", Type: "numeric"},
		{Name: "at", Type: "timestamp with time zone"},
		{Name: "naive", Type: "timestamp without time zone"},
		{Name: "t", Type: "time without time zone"},
		{Name: "d", Type: "date"},
		{Name: "j", Type: "jsonb"},
		{Name: "js", Type: "jsonb"},
		{Name: "ja", Type: "jsonb"},
		{Name: "tags", Type: "text[]"},
		{Name: "flags", Type: "boolean[]"},
		{Name: "f", Type: "double precision"},
		{Name: "n", Type: "numeric(10,2)"},
		{Name: "iv", Type: "interval"},
		{Name: "nul", Type: "text"},
		{Name: "plain", Type: "json"},
	}
	s := newSink(t, pool, View{Name: "ty", Table: "ty", ID: []string{"id"}, Columns: cols})
	doc := sinks.Doc{View: "ty", ID: "1", Key: map[string]any{"id": json.Number("1")}, Rev: 1, Fields: map[string]any{
		"id":      json.Number("1"),
		"amounts": []any{"1.50", json.Number("2.25"), nil},
		"big":     "123456789012345678901234567890.123456789",
		"at":      "2024-01-02T03:04:05.123456Z",
		"naive":   "2024-01-02T03:04:05.123456",
		"t":       "23:59:59.999999",
		"d":       "2024-02-29",
		"j":       map[string]any{"a": []any{map[string]any{"b": json.Number("1.10")}}, "c": nil},
		"js":      "just a string",
		"ja":      []any{json.Number("1"), "x"},
		"tags":    []any{"a,b", `c"d`, "{e}", "NULL", nil},
		"flags":   []any{true, false},
		"f":       "NaN",
		"n":       "NaN",
		"iv":      "P1DT2H",
		"nul":     "a\x00b",
		"plain":   map[string]any{"k": "v"},
	}}
	if err := s.Write(t.Context(), []sinks.Doc{doc}); err != nil {
		var be *sinks.BatchError
		if errors.As(err, &be) {
			for i, e := range be.Failed {
				t.Fatalf("doc %d: %v", i, e)
			}
		}
		t.Fatal(err)
	}
	want := map[string]string{
		"amounts": "{1.50,2.25,NULL}",
		"big":     "123456789012345678901234567890.123456789",
		"at":      "2024-01-02 03:04:05.123456+00",
		"naive":   "2024-01-02 03:04:05.123456",
		"t":       "23:59:59.999999",
		"d":       "2024-02-29",
		"j":       `{"a": [{"b": 1.10}], "c": null}`,
		"js":      `"just a string"`,
		"ja":      `[1, "x"]`,
		"tags":    `{"a,b","c\"d","{e}","NULL",NULL}`,
		"flags":   "{t,f}",
		"f":       "NaN",
		"n":       "NaN",
		"iv":      "1 day 02:00:00",
		"nul":     "a\uFFFDb",
		"plain":   `{"k": "v"}`,
	}
	if _, err := pool.Exec(t.Context(), "SET TIME ZONE 'UTC'"); err != nil {
		t.Fatal(err)
	}
	for c, w := range want {
		var got *string
		if err := pool.QueryRow(t.Context(), `SET LOCAL TIME ZONE 'UTC'; `+"SELECT "+quote(c)+"::text FROM ty WHERE id = 1").Scan(&got); err != nil {
			// multi-statement not allowed with params; fall back
			if err := pool.QueryRow(t.Context(), "SELECT "+quote(c)+"::text FROM ty WHERE id = 1").Scan(&got); err != nil {
				t.Fatalf("%s: %v", c, err)
			}
		}
		if got == nil || *got != w {
			t.Errorf("column %s = %v, want %s", c, deref(got), w)
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
