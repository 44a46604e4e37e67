package debezium

import (
	"errors"
	"strings"
	"testing"
)

// r30aMongoDocSchema is what AvroConverter registers for the output of
// ExtractNewDocumentState (MongoDB) with add.fields=op,source.ts_ms,source.ord
// and delete rewrite: the SMT names the record after the envelope without
// ".Envelope" (srv.db.people), a $date becomes a Connect Timestamp
// (timestamp-millis), a string stays a string.
const r30aMongoDocSchema = `{"type":"record","name":"people","namespace":"srv.db",
 "connect.name":"srv.db.people","fields":[
  {"name":"_id","type":"string"},
  {"name":"born","type":["null",{"type":"long","connect.version":1,"connect.name":"org.apache.kafka.connect.data.Timestamp","logicalType":"timestamp-millis"}],"default":null},
  {"name":"n","type":["null","string"],"default":null},
  {"name":"__op","type":["null","string"],"default":null},
  {"name":"__source_ts_ms","type":["null","long"],"default":null},
  {"name":"__source_ord","type":["null","int"],"default":null},
  {"name":"__deleted","type":["null","string"],"default":null}]}`

func r30aMongoDoc(born, n any) map[string]any {
	return map[string]any{"_id": "65a1b2c3d4e5f60718293a4b", "born": born, "n": n,
		"__op": map[string]any{"string": "c"}, "__source_ts_ms": map[string]any{"long": int64(1700000000000)},
		"__source_ord": map[string]any{"int": 1}, "__deleted": map[string]any{"string": "false"}}
}

// README (What it decodes): "A MongoDB document's top-level fields ... are
// checked against their declared types too (an integer, a boolean, a date,
// ...)" and "$date → RFC 3339 (in a column declared date, time or timetz,
// that type of the instant in UTC)". The same ExtractNewDocumentState row
// through JsonConverter with schemas reads born as the date 2024-01-02
// (decoder.go runs mongoHints for keyMongoUnwrapped). Through AvroConverter
// it stays the timestamp 2024-01-02T03:04:05Z: decodeAvro (avro.go) calls
// d.mongoHints only in its envelope branch, never for an unwrapped MongoDB
// row (hint keyMongoUnwrapped).
func TestR30aAvroMongoUnwrappedDateColumn(t *testing.T) {
	d := mustDecoder(t, Options{Columns: map[string]string{"born": "date"}})
	if err := d.AddAvroSchema(1, r30aMongoDocSchema); err != nil {
		t.Fatal(err)
	}
	v := r30aMongoDoc(map[string]any{"long.timestamp-millis": int64(1704164645000)}, nil) // 2024-01-02T03:04:05Z
	ch, err := d.Decode([]byte(`{"id":"65a1b2c3d4e5f60718293a4b"}`), frame(1, avroEncode(t, r30aMongoDocSchema, v)))
	if err != nil {
		t.Fatal(err)
	}
	wantJSON(t, ch.After["born"], `"2024-01-02"`)
}

// Same gap, other half of the promise: "A value that cannot be one makes
// the record malformed (a dead letter) rather than a row a store refuses on
// every retry." A string where the column is declared bigint is refused
// from JsonConverter (after.n: expected an integer, found string), but
// from AvroConverter it is decoded and handed to the state as a string.
func TestR30aAvroMongoUnwrappedStringInBigint(t *testing.T) {
	d := mustDecoder(t, Options{Columns: map[string]string{"n": "bigint"}})
	if err := d.AddAvroSchema(1, r30aMongoDocSchema); err != nil {
		t.Fatal(err)
	}
	v := r30aMongoDoc(nil, map[string]any{"string": "twelve"})
	ch, err := d.Decode([]byte(`{"id":"65a1b2c3d4e5f60718293a4b"}`), frame(1, avroEncode(t, r30aMongoDocSchema, v)))
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("err = %v (after %v), want a malformed record: n is declared bigint", err, ch.After)
	}
}

// A PostgreSQL column named with a non-ASCII letter (prénom, größe, 名前;
// PostgreSQL takes them unquoted). Debezium 2.x leaves field names as they
// are (field.name.adjustment.mode defaults to none), and Java Avro, which
// AvroConverter and the schema registry parse with, accepts them: its
// default NameValidator.UTF_VALIDATOR checks Character.isLetter /
// isLetterOrDigit. hamba/avro's parser only takes [A-Za-z_][A-Za-z0-9_]*,
// so AddAvroSchema fails ("invalid name prénom") and DecodeRecord
// dead-letters every record of the table (fetching the schema again for
// each one), where the same table through JsonConverter decodes.
func TestR30aAvroNonASCIIFieldName(t *testing.T) {
	const schema = `{"type":"record","name":"Value","namespace":"srv.public.clients",
	 "connect.name":"srv.public.clients.Value","fields":[
	  {"name":"id","type":"long"},
	  {"name":"prénom","type":["null","string"],"default":null},
	  {"name":"__op","type":["null","string"],"default":null},
	  {"name":"__lsn","type":["null","long"],"default":null}]}`
	d := mustDecoder(t, Options{})
	if err := d.AddAvroSchema(1, schema); err != nil {
		t.Fatalf("AddAvroSchema: %v", err)
	}
	// id 7, prénom "Zoé", __op "c", __lsn 500 (hand-encoded: hamba cannot parse the schema).
	body := []byte{0x0e, 0x02, 0x08, 'Z', 'o', 0xc3, 0xa9, 0x02, 0x02, 'c', 0x02, 0xe8, 0x07}
	ch, err := d.Decode(nil, frame(1, body))
	if err != nil {
		t.Fatal(err)
	}
	wantJSON(t, ch.After, `{"id":7,"prénom":"Zoé"}`)
	wantPos(t, ch, Position{Hi: 500})
}

// The same parser rejects a hyphen in a namespace, which Java Avro never
// checks (Schema.Name validates only the part after the last dot). A
// topic.prefix such as "prod-db" is common (Debezium documents hyphens as
// allowed in it) and, with Debezium 2.x's default
// schema.name.adjustment.mode=none, AvroConverter registers the envelope as
// name "Envelope", namespace "prod-db.public.orders". hamba/avro fails on
// it ("invalid name part"), so AddAvroSchema fails and every change of
// every table of that connector is dead-lettered. The bytes are those of
// the same schema under any other namespace: encoded here with one.
func TestR30aAvroHyphenInNamespace(t *testing.T) {
	const schema = `{"type":"record","name":"Envelope","namespace":"prod-db.public.orders",
	 "connect.name":"prod-db.public.orders.Envelope","fields":[
	  {"name":"before","type":["null",{"type":"record","name":"Value","connect.name":"prod-db.public.orders.Value","fields":[
	    {"name":"id","type":"long"},{"name":"note","type":["null","string"],"default":null}]}],"default":null},
	  {"name":"after","type":["null","Value"],"default":null},
	  {"name":"source","type":{"type":"record","name":"Source","namespace":"io.debezium.connector.postgresql","fields":[
	    {"name":"connector","type":"string"},{"name":"name","type":"string"},
	    {"name":"lsn","type":["null","long"],"default":null},{"name":"ts_ms","type":"long"}]}},
	  {"name":"op","type":"string"},
	  {"name":"ts_ms","type":["null","long"],"default":null}]}`
	v := map[string]any{
		"before": nil,
		"after":  map[string]any{"prod_db.public.orders.Value": map[string]any{"id": int64(5), "note": map[string]any{"string": "hi"}}},
		"source": map[string]any{"connector": "postgresql", "name": "prod-db", "lsn": map[string]any{"long": int64(900)}, "ts_ms": int64(1700000000000)},
		"op":     "c",
		"ts_ms":  nil,
	}
	body := avroEncode(t, strings.ReplaceAll(schema, "prod-db.public", "prod_db.public"), v)
	d := mustDecoder(t, Options{})
	if err := d.AddAvroSchema(1, schema); err != nil {
		t.Fatalf("AddAvroSchema: %v", err)
	}
	ch, err := d.Decode(nil, frame(1, body))
	if err != nil {
		t.Fatal(err)
	}
	wantJSON(t, ch.After, `{"id":5,"note":"hi"}`)
	wantPos(t, ch, Position{Hi: 900})
}
