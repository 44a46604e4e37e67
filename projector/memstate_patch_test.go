package projector

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
)

// TestJSONBPatchMatchesSQL: the memory state's patch gives what the
// jsonb_patch function gives in PostgreSQL.
func TestJSONBPatchMatchesSQL(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	ctx := context.Background()
	st := &state{pool: pool, schema: "projector"}
	if err := st.migrate(ctx, &projections.Plan{}); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ doc, set, unset string }{
		{`{"a": 1}`, `{"b": 2}`, `[]`},
		{`{"a": {"x": 1}}`, `{"a.y": 2, "a.x": 3}`, `[]`},
		{`{"a": 5}`, `{"a.b.c": true}`, `[]`},
		{`{}`, `{"a.b": 1, "a": {"z": 0}}`, `[]`},
		{`{"a": [1, 2, 3]}`, `{"a.1": "two", "a.9": "end"}`, `[]`},
		// Not viable, as MongoDB says: a $set into an array by a field name
		// (or a negative index) makes no document; an $unset is a no-op.
		{`{"a": [1, 2, 3]}`, `{"a.1": "two", "a.-9": "start"}`, `[]`},
		{`{"a": [{"c": 1}]}`, `{"a.c": 2}`, `[]`},
		{`{"a": [{"c": 1}]}`, `{"a.0.c.d": 2, "b": 1}`, `[]`},
		{`{"a": [{"c": 1}], "b": 1}`, `{}`, `["a.c", "a.x.y", "a.0.c", "b"]`},
		{`{"a": {"b": 1, "c": 2}, "d": [1, 2]}`, `{}`, `["a.b", "d.0", "x.y", "a.c.z"]`},
		{`{"a": 1, "b": 2}`, `{"a": {"n": null}}`, `["b"]`},
	}
	for _, c := range cases {
		var sqlOut []byte // nil: not viable
		if err := pool.QueryRow(ctx, `SELECT projector.jsonb_patch($1::jsonb, $2::jsonb, ARRAY(SELECT jsonb_array_elements_text($3::jsonb)))`,
			c.doc, c.set, c.unset).Scan(&sqlOut); err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		doc, _ := decodeRow([]byte(c.doc))
		set, _ := decodeRow([]byte(c.set))
		var unset []string
		if err := json.Unmarshal([]byte(c.unset), &unset); err != nil {
			t.Fatal(err)
		}
		got, err := jsonbPatch(doc, set, unset)
		if (sqlOut == nil) != (err == errPathNotViable) {
			t.Errorf("patch %s with set %s unset %s: postgres %s, memory error %v", c.doc, c.set, c.unset, sqlOut, err)
			continue
		}
		if sqlOut == nil {
			continue
		}
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		want, err := decodeRow(sqlOut)
		if err != nil {
			t.Fatal(err)
		}
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		if string(g) != string(w) {
			t.Errorf("patch %s with set %s unset %s:\nmemory   %s\npostgres %s", c.doc, c.set, c.unset, g, w)
		}
	}
}
