package postgres

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks"
)

func r16pArrayView(name, typ string) View {
	return View{Name: name, Table: name, ID: []string{"id"}, Columns: []Column{
		{Name: "id", Type: "bigint"}, {Name: "v", Type: typ},
	}}
}

func r16pArrayDoc(view string, v any) sinks.Doc {
	return sinks.Doc{View: view, ID: "1", Key: map[string]any{"id": json.Number("1")}, Rev: 1,
		Fields: map[string]any{"id": json.Number("1"), "v": v}}
}

// TestR16pJSONBArrayOfArraysIsStored: a jsonb[] (or json[]) column is a
// one-dimensional array of JSON values (config.ParseType supports only
// one-dimensional arrays), and a JSON array is a JSON value: a source
// column jsonb[] holding ARRAY['[1,2]', '[3]'] must be stored as two
// elements. The sink hands the doc's array to jsonb_to_recordset, which
// reads nested JSON arrays as further dimensions of the PostgreSQL array:
// sub-arrays of unequal length (or an array next to an object) make the
// doc refused as "malformed JSON array", although PostgreSQL holds the
// value fine.
func TestR16pJSONBArrayOfArraysIsStored(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	cases := []struct {
		name, typ string
		val       any
		want      string // v::text
	}{
		{"ragged", "jsonb[]", []any{[]any{json.Number("1"), json.Number("2")}, []any{json.Number("3")}}, `{"[1, 2]",[3]}`}, // as PostgreSQL prints ARRAY['[1,2]'::jsonb, '[3]']
		{"mixed", "json[]", []any{[]any{json.Number("1")}, map[string]any{"a": json.Number("1")}}, `{[1],"{\"a\": 1}"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name := "r16p_" + c.name
			s := newSink(t, pool, r16pArrayView(name, c.typ))
			if err := s.Write(t.Context(), []sinks.Doc{r16pArrayDoc(name, c.val)}); err != nil {
				var be *sinks.BatchError
				if errors.As(err, &be) {
					t.Errorf("%s value %v refused: %v", c.typ, c.val, be.Failed[0])
				} else {
					t.Errorf("write: %v", err)
				}
			}
			var got *string
			if err := pool.QueryRow(t.Context(), `SELECT v::text FROM `+quote(name)+` WHERE id = 1`).Scan(&got); err != nil && !errors.Is(err, pgx.ErrNoRows) {
				t.Fatal(err)
			}
			if got == nil || *got != c.want {
				t.Errorf("stored %s, want %s", deref(got), c.want)
			}
		})
	}
}

// TestR16pJSONBArrayOfEqualArraysKeepsItsElements: when the sub-arrays
// happen to have equal lengths the doc is not refused but stored as a
// two-dimensional array of scalars: SQL readers of the view see 4
// elements instead of 2, and v[1] is NULL instead of the JSON array [1, 2].
func TestR16pJSONBArrayOfEqualArraysKeepsItsElements(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := newSink(t, pool, r16pArrayView("r16p_square", "jsonb[]"))
	v := []any{[]any{json.Number("1"), json.Number("2")}, []any{json.Number("3"), json.Number("4")}}
	if err := s.Write(t.Context(), []sinks.Doc{r16pArrayDoc("r16p_square", v)}); err != nil {
		t.Fatal(err)
	}
	var n, dims int
	var first *string
	if err := pool.QueryRow(t.Context(), `SELECT cardinality(v), array_ndims(v), v[1]::text FROM r16p_square WHERE id = 1`).Scan(&n, &dims, &first); err != nil {
		t.Fatal(err)
	}
	if n != 2 || dims != 1 || first == nil || *first != "[1, 2]" {
		t.Errorf("jsonb[] [[1,2],[3,4]] stored with cardinality %d, %d dimension(s), v[1] = %s; want 2, 1, [1, 2]", n, dims, deref(first))
	}
}
