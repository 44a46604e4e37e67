package postgres

import (
	"encoding/json"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks"
)

// TestR29aJSONBArrayNullElementIsSQLNull: a null element of an array
// column is SQL NULL in the view table, as the source's array held it
// (Debezium writes a NULL element of a jsonb[] as JSON null; a jsonb
// 'null' element would come as the text "null"): text[], integer[] and
// the others store it so through jsonb_to_recordset. jsonb[] and json[]
// are read as one jsonb and rebuilt element by element (RecordColumn,
// view.go), where `x::jsonb` of a JSON null is the jsonb value 'null',
// not NULL: `v[2] IS NULL` is false for those columns only, and
// array_position(v, NULL), count(v[i]) and the like see a value.
func TestR29aJSONBArrayNullElementIsSQLNull(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	for _, typ := range []string{"jsonb[]", "json[]"} {
		name := map[string]string{"jsonb[]": "r29a_jb", "json[]": "r29a_j"}[typ]
		s := newSink(t, pool, View{Name: name, Table: name, ID: []string{"id"}, Columns: []Column{
			{Name: "id", Type: "bigint"}, {Name: "v", Type: typ}, {Name: "tags", Type: "text[]"},
		}})
		doc := sinks.Doc{View: name, ID: "1", Key: map[string]any{"id": json.Number("1")}, Rev: 1, Fields: map[string]any{
			"id": json.Number("1"), "v": []any{map[string]any{"a": json.Number("1")}, nil}, "tags": []any{"x", nil},
		}}
		if err := s.Write(t.Context(), []sinks.Doc{doc}); err != nil {
			t.Fatal(err)
		}
		var elemNull, tagNull bool
		if err := pool.QueryRow(t.Context(), `SELECT v[2] IS NULL, tags[2] IS NULL FROM `+quote(name)+` WHERE id = 1`).Scan(&elemNull, &tagNull); err != nil {
			t.Fatal(err)
		}
		if !tagNull {
			t.Fatalf("text[] null element is not NULL")
		}
		if !elemNull {
			t.Errorf("%s: a null element is stored as the JSON value null, not SQL NULL as text[]'s is", typ)
		}
	}
}
