package debezium

import (
	"encoding/json"
	"errors"
	"testing"
)

// TestMongoDeclaredColumns: the README says a column declared
// numeric(p,s) has s decimals however the value came, MongoDB reads
// included, and declared types are the hints schemaless JSON lacks. A
// MongoDB envelope's document ignores them: 10.5 stays a float64, and a
// string in a bigint column is accepted (then rejected by the PostgreSQL
// sink on every retry) instead of being malformed.
func TestMongoDeclaredColumns(t *testing.T) {
	d := mustDecoder(t, Options{Columns: map[string]string{"_id": "text", "price": "numeric(10,2)", "n": "bigint"}})
	key := []byte(`{"id":"\"u1\""}`)

	ch, err := d.Decode(key, mongoValue("c", `{"_id": "u1", "price": 10.5}`, "", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	if got := Exact(ch.After["price"]); got != "10.50" {
		t.Errorf("mongo price = %#v, want \"10.50\" (declared numeric(10,2))", got)
	}

	// The same document unwrapped (ExtractNewDocumentState) gets its scale.
	ch, err = d.Decode(key, []byte(`{"_id":"u1","price":10.5,"__op":"c","__source_connector":"mongodb","__source_ts_ms":1000}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := Exact(ch.After["price"]); got != "10.50" {
		t.Errorf("unwrapped mongo price = %#v, want \"10.50\"", got)
	}

	_, err = d.Decode(key, mongoValue("c", `{"_id": "u1", "n": "abc"}`, "", "", ""))
	if !errors.Is(err, ErrMalformed) {
		t.Errorf("a string in a column declared bigint: err = %v, want ErrMalformed (dead letter)", err)
	}
}

// TestAvroDeclaredScale: the same numeric(10,2) column read from Avro
// (decimal.handling.mode=double or string) must keep its declared scale,
// as it does from JSON; otherwise one row reads "10.50" or "10.5"
// depending on the converter.
func TestAvroDeclaredScale(t *testing.T) {
	schema := `{"type":"record","name":"Envelope","namespace":"r","fields":[
	  {"name":"before","type":["null",{"type":"record","name":"Value","fields":[
	    {"name":"id","type":"long"},{"name":"price","type":"double"},{"name":"text_price","type":"string"}]}],"default":null},
	  {"name":"after","type":["null","Value"],"default":null},
	  {"name":"source","type":{"type":"record","name":"Source","fields":[{"name":"connector","type":"string"},{"name":"lsn","type":["null","long"]}]}},
	  {"name":"op","type":"string"}]}`
	d := mustDecoder(t, Options{Columns: map[string]string{"price": "numeric(10,2)", "text_price": "numeric(10,2)"}})
	if err := d.AddAvroSchema(1, schema); err != nil {
		t.Fatal(err)
	}
	value := frame(1, avroEncode(t, schema, map[string]any{
		"before": nil,
		"after":  map[string]any{"r.Value": map[string]any{"id": int64(1), "price": 10.5, "text_price": "10.5"}},
		"source": map[string]any{"connector": "postgresql", "lsn": map[string]any{"long": int64(5)}},
		"op":     "c",
	}))
	ch, err := d.Decode([]byte(`{"id":1}`), value)
	if err != nil {
		t.Fatal(err)
	}
	jch, err := d.Decode([]byte(`{"id":1}`), []byte(`{"op":"c","source":{"connector":"postgresql","lsn":5},"after":{"id":1,"price":10.5,"text_price":"10.5"}}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, col := range []string{"price", "text_price"} {
		if got, js := Exact(ch.After[col]), Exact(jch.After[col]); got != "10.50" || got != js {
			t.Errorf("avro %s = %#v, json %#v: want \"10.50\" from both", col, got, js)
		}
	}
}

// TestMongoDateInDeclaredColumns: a $date is an instant. In a column
// declared date, time or timetz it reads as that type in UTC, the zone of
// every MongoDB date, as a timestamptz cast in a UTC session does: a date
// column holds 2024-03-01, not 2024-03-01T23:30:00Z.
func TestMongoDateInDeclaredColumns(t *testing.T) {
	d := mustDecoder(t, Options{Columns: map[string]string{"_id": "text", "born": "date", "at": "time", "atz": "timetz", "ts": "timestamptz"}})
	key := []byte(`{"id":"\"u1\""}`)
	const when = `{"$date": 1709335800123}` // 2024-03-01T23:30:00.123Z
	ch, err := d.Decode(key, mongoValue("c", `{"_id": "u1", "born": `+when+`, "at": `+when+`, "atz": `+when+`, "ts": `+when+`}`, "", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"born": `"2024-03-01"`, "at": `"23:30:00.123000"`, "atz": `"23:30:00.123000Z"`, "ts": `"2024-03-01T23:30:00.123Z"`}
	for col, want := range want {
		if got, err := json.Marshal(ch.After[col]); err != nil || string(got) != want {
			t.Errorf("%s = %s (%T), %v; want %s", col, got, ch.After[col], err, want)
		}
	}
	_, err = d.Decode(key, mongoValue("c", `{"_id": "u1", "born": {"$date": -62198755200000}}`, "", "", "")) // year 0
	if !errors.Is(err, ErrMalformed) {
		t.Errorf("a $date in year 0 in a date column: err = %v, want ErrMalformed", err)
	}
}
