package debezium

import (
	"errors"
	"strings"
	"testing"
)

// TestR27gMongoArrayColumnsHeldToDeclaredTypes: README ("What it
// decodes"): "a column declared numeric(p,s) always has s decimals,
// however the value came (... MongoDB reads "10.50")", and "A MongoDB
// document's top-level fields are checked against their declared types
// too ...: a value that cannot be one makes the record malformed (a dead
// letter) rather than a row a store refuses on every retry". JSON and Avro
// apply a declared array type to each element (numeric(10,2)[] reads
// [10.5] as ["10.50"], smallint[] refuses 40000), but a MongoDB array
// field is passed through untouched (mongohints.go: hinted has no kArray
// case): the view's PostgreSQL numeric(10,2)[] column holds {10.50,1.01}
// while Redis holds [10.5,1.005], and a smallint[] element beyond 16 bits
// reaches the store instead of the dead-letter topic.
func TestR27gMongoArrayColumnsHeldToDeclaredTypes(t *testing.T) {
	d := mustDecoder(t, Options{Columns: map[string]string{"_id": "integer", "prices": "numeric(10,2)[]", "smalls": "smallint[]"}})
	key := []byte(`{"id":"1"}`)

	ch, err := d.Decode(key, mongoValue("c", `{"_id": 1, "prices": [10.5, {"$numberDecimal": "1.005"}]}`, "", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	wantJSON(t, Exact(ch.After["prices"]), `["10.50","1.01"]`)

	// The same column from schemaless PostgreSQL JSON, for comparison.
	jch, err := d.Decode(nil, pgSchemaless("prices", `[10.5, "1.005"]`))
	if err != nil {
		t.Fatal(err)
	}
	wantJSON(t, Exact(jch.After["prices"]), `["10.50","1.01"]`)

	ch, err = d.Decode(key, mongoValue("c", `{"_id": 1, "smalls": [1, 40000]}`, "", "", ""))
	if !errors.Is(err, ErrMalformed) {
		t.Errorf("smallint[] holding 40000 from MongoDB: read %v (err %v), want ErrMalformed", Exact(ch.After["smalls"]), err)
	} else if !strings.Contains(err.Error(), "smalls[1]") {
		t.Errorf("error %q does not name the element smalls[1]", err)
	}
}
