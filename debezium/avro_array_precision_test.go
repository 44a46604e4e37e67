package debezium

import "testing"

// TestAvroTimestampArrayDeclaredPrecision: a timestamp(3)[] column comes
// in Avro as an array of MicroTimestamp; declared, its elements keep
// milliseconds, as the JSON path and a single timestamp(3) do.
func TestAvroTimestampArrayDeclaredPrecision(t *testing.T) {
	const schema = `{"type":"record","name":"Value","namespace":"srv.public.ev","connect.name":"srv.public.ev.Value","fields":[
	  {"name":"id","type":"long"},
	  {"name":"at","type":["null",{"type":"array","items":["null",{"type":"long","connect.name":"io.debezium.time.MicroTimestamp"}]}],"default":null},
	  {"name":"__op","type":["null","string"],"default":null},
	  {"name":"__lsn","type":["null","long"],"default":null}]}`
	d := mustDecoder(t, Options{Columns: map[string]string{"at": "timestamp(3)[]"}})
	if err := d.AddAvroSchema(1, schema); err != nil {
		t.Fatal(err)
	}
	// 2024-01-02T03:04:05.678901: microseconds 1704164645678901
	v := map[string]any{"id": int64(1), "at": map[string]any{"array": []any{map[string]any{"long": int64(1704164645678901)}, nil}},
		"__op": map[string]any{"string": "c"}, "__lsn": map[string]any{"long": int64(10)}}
	ch, err := d.Decode(nil, frame(1, avroEncode(t, schema, v)))
	if err != nil {
		t.Fatal(err)
	}
	wantJSON(t, Exact(ch.After["at"]), `["2024-01-02T03:04:05.679Z",null]`)
}
