package debezium

import (
	"errors"
	"testing"
)

// README: "a column declared numeric(p,s) always has s decimals, however
// the value came (10.5 from decimal.handling.mode=double, Avro ...)". The
// JSON paths apply a declared numeric(10,2)[] to each element of an array
// column (["1.50"]); the Avro path does not: avroread.go:withHints puts the
// column's kArray hint on the array node, but avroReader.value's Array case
// never looks at n.c, so the element stays the double 1.5 — the same row
// decodes differently depending on the converter.
func TestR12aAvroDeclaredArrayHintIgnored(t *testing.T) {
	const schema = `{"type":"record","name":"Value","namespace":"srv.public.prices",
	 "connect.name":"srv.public.prices.Value","fields":[
	  {"name":"id","type":"long"},
	  {"name":"amounts","type":["null",{"type":"array","items":["null","double"]}],"default":null},
	  {"name":"__op","type":["null","string"],"default":null},
	  {"name":"__lsn","type":["null","long"],"default":null}]}`
	cols := map[string]string{"amounts": "numeric(10,2)[]"}

	// The same row as JsonConverter with schemas writes it.
	dj := mustDecoder(t, Options{Columns: cols})
	js := `{"schema":{"type":"struct","name":"srv.public.prices.Value","fields":[{"field":"id","type":"int64"},` +
		`{"field":"amounts","type":"array","optional":true,"items":{"type":"double","optional":true}},` +
		`{"field":"__op","type":"string","optional":true},{"field":"__lsn","type":"int64","optional":true}]},` +
		`"payload":{"id":1,"amounts":[10.5,null],"__op":"c","__lsn":10}}`
	chj, err := dj.Decode(nil, []byte(js))
	if err != nil {
		t.Fatal(err)
	}
	wantJSON(t, Exact(chj.After["amounts"]), `["10.50",null]`)

	da := mustDecoder(t, Options{Columns: cols})
	if err := da.AddAvroSchema(1, schema); err != nil {
		t.Fatal(err)
	}
	v := map[string]any{"id": int64(1), "amounts": map[string]any{"array": []any{map[string]any{"double": 10.5}, nil}},
		"__op": map[string]any{"string": "c"}, "__lsn": map[string]any{"long": int64(10)}}
	cha, err := da.Decode(nil, frame(1, avroEncode(t, schema, v)))
	if err != nil {
		t.Fatal(err)
	}
	wantJSON(t, Exact(cha.After["amounts"]), `["10.50",null]`)
}

// A PostgreSQL numeric column without a typmod reaches Avro as Debezium's
// VariableScaleDecimal record {scale, value}. README: "a column declared
// numeric(p,s) always has s decimals, however the value came ... and may
// then have at most p digits: 123456.78 in numeric(5,2) is malformed".
// avroread.go:withHints skips record leaves when leaf.c is a logical codec
// (declaredPrecision only refines times), and avroReader.record returns
// varDecimalFromMap with the record's own scale: 10.5 stays "10.5", and
// 123456.78 passes into a view column numeric(5,2), which PostgreSQL
// refuses. (The JSON-with-schema path has the same gap: schema.go:compileRow
// / refines never lets a hint refine a logical decimal.)
func TestR12aAvroVariableScaleDecimalIgnoresDeclaredNumeric(t *testing.T) {
	const schema = `{"type":"record","name":"Value","namespace":"srv.public.acct",
	 "connect.name":"srv.public.acct.Value","fields":[
	  {"name":"id","type":"long"},
	  {"name":"amount","type":["null",{"type":"record","name":"VariableScaleDecimal","namespace":"io.debezium.data",
	    "connect.name":"io.debezium.data.VariableScaleDecimal","connect.version":1,
	    "fields":[{"name":"scale","type":"int"},{"name":"value","type":"bytes"}]}],"default":null},
	  {"name":"__op","type":["null","string"],"default":null},
	  {"name":"__lsn","type":["null","long"],"default":null}]}`
	d := mustDecoder(t, Options{Columns: map[string]string{"amount": "numeric(5,2)"}})
	if err := d.AddAvroSchema(1, schema); err != nil {
		t.Fatal(err)
	}
	row := func(scale int, unscaled []byte) []byte {
		return frame(1, avroEncode(t, schema, map[string]any{"id": int64(1),
			"amount": map[string]any{"io.debezium.data.VariableScaleDecimal": map[string]any{"scale": scale, "value": unscaled}},
			"__op":   map[string]any{"string": "c"}, "__lsn": map[string]any{"long": int64(10)}}))
	}
	ch, err := d.Decode(nil, row(1, []byte{0x69})) // 10.5
	if err != nil {
		t.Fatal(err)
	}
	wantJSON(t, Exact(ch.After["amount"]), `"10.50"`)

	ch, err = d.Decode(nil, row(2, []byte{0x00, 0xbc, 0x61, 0x4e})) // 123456.78
	if !errors.Is(err, ErrMalformed) {
		t.Errorf("123456.78 in numeric(5,2): %v (err %v), want ErrMalformed", Exact(ch.After["amount"]), err)
	}
}
