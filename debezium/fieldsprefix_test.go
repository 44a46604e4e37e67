package debezium

import (
	"testing"
)

// TestDecodeWithFieldsPrefix: a connector whose SMT has
// add.fields.prefix=meta_ sends meta_op, meta_lsn, meta_deleted...; read
// with Options.FieldsPrefix, every unwrapped form (JSON without and with a
// schema, Avro) gives the op and the position, and a column that merely
// starts with the prefix stays. Read without it, they were columns: the
// delete an upsert, the change without a position.
func TestDecodeWithFieldsPrefix(t *testing.T) {
	const schema = `{"type":"struct","name":"srv.public.t.Value","optional":false,"fields":[
	 {"field":"id","type":"int64"},{"field":"meta_note","type":"string","optional":true},
	 {"field":"meta_op","type":"string","optional":true},{"field":"meta_lsn","type":"int64","optional":true},
	 {"field":"meta_deleted","type":"string","optional":true}]}`
	tests := []struct {
		name, value string
		op          Op
		before      string
		after       string
		pos         Position
	}{
		{"schemaless update", `{"id":1,"meta_note":"x","meta_op":"u","meta_lsn":500}`,
			OpUpdate, `null`, `{"id":1,"meta_note":"x"}`, Position{Hi: 500}},
		{"schemaless delete rewrite", `{"id":1,"meta_note":"x","meta_op":"d","meta_lsn":600,"meta_deleted":"true"}`,
			OpDelete, `{"id":1,"meta_note":"x"}`, `null`, Position{Hi: 600}},
		{"schemaless delete rewrite without op", `{"id":1,"meta_deleted":"true","meta_lsn":601}`,
			OpDelete, `{"id":1}`, `null`, Position{Hi: 601}},
		{"with a schema", `{"schema":` + schema + `,"payload":{"id":1,"meta_note":null,"meta_op":"d","meta_lsn":700,"meta_deleted":"true"}}`,
			OpDelete, `{"id":1,"meta_note":null}`, `null`, Position{Hi: 700}},
	}
	for _, format := range []Format{FormatAuto, FormatUnwrapped} {
		d := mustDecoder(t, Options{Format: format, FieldsPrefix: "meta_"})
		for _, tt := range tests {
			t.Run(format.String()+"/"+tt.name, func(t *testing.T) {
				ch, err := d.Decode([]byte(`{"id":1}`), []byte(tt.value))
				if err != nil {
					t.Fatal(err)
				}
				if ch.Op != tt.op {
					t.Errorf("op %v, want %v", ch.Op, tt.op)
				}
				wantJSON(t, ch.Before, tt.before)
				wantJSON(t, ch.After, tt.after)
				wantPos(t, ch, tt.pos)
			})
		}
	}
}

// TestDecodeAvroWithFieldsPrefix: the SMT's output in Avro, named
// ….Value, with meta_ members.
func TestDecodeAvroWithFieldsPrefix(t *testing.T) {
	const schema = `{"type":"record","name":"Value","namespace":"srv.public.t",
	 "connect.name":"srv.public.t.Value","fields":[
	  {"name":"id","type":"long"},
	  {"name":"meta_note","type":["null","string"],"default":null},
	  {"name":"meta_op","type":["null","string"],"default":null},
	  {"name":"meta_lsn","type":["null","long"],"default":null},
	  {"name":"meta_deleted","type":["null","string"],"default":null}]}`
	for _, format := range []Format{FormatAuto, FormatAvro, FormatUnwrapped} {
		d := mustDecoder(t, Options{Format: format, FieldsPrefix: "meta_"})
		if err := d.AddAvroSchema(1, schema); err != nil {
			t.Fatal(err)
		}
		v := map[string]any{"id": int64(7), "meta_note": map[string]any{"string": "x"},
			"meta_op": map[string]any{"string": "d"}, "meta_lsn": map[string]any{"long": int64(900)}, "meta_deleted": map[string]any{"string": "true"}}
		ch, err := d.Decode(nil, frame(1, avroEncode(t, schema, v)))
		if err != nil {
			t.Fatalf("%v: %v", format, err)
		}
		if ch.Op != OpDelete {
			t.Errorf("%v: op %v, want a delete", format, ch.Op)
		}
		wantJSON(t, ch.Before, `{"id":7,"meta_note":"x"}`)
		wantPos(t, ch, Position{Hi: 900})
	}
}

// TestDecodeMongoWithFieldsPrefix: ExtractNewDocumentState with
// add.fields.prefix=meta_: the prefixed collection and ordinal say the
// document is MongoDB's, so its position is the oplog's, its key reads as
// MongoDB's and a declared timestamp is the SMT's epoch milliseconds.
func TestDecodeMongoWithFieldsPrefix(t *testing.T) {
	d := mustDecoder(t, Options{FieldsPrefix: "meta_", Columns: map[string]string{"born": "timestamp"}})
	value := `{"_id":"u1","born":1700000000000,"meta_op":"c","meta_collection":"users","meta_source_ts_ms":1700000000999,"meta_source_ord":3}`
	ch, err := d.Decode([]byte(`{"id":"u1"}`), []byte(value))
	if err != nil {
		t.Fatal(err)
	}
	if ch.Op != OpCreate || ch.Source.Collection != "users" {
		t.Errorf("op %v collection %q, want a create of users", ch.Op, ch.Source.Collection)
	}
	wantJSON(t, ch.After, `{"_id":"u1","born":"2023-11-14T22:13:20Z"}`)
	wantJSON(t, ch.Key, `{"_id":"u1"}`)
	wantPos(t, ch, Position{Hi: 1700000000, Lo: 3})
}
