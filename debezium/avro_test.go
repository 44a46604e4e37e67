package debezium

import (
	"encoding/binary"
	"errors"
	"math/big"
	"testing"

	"github.com/hamba/avro/v2"
)

// The schemas AvroConverter writes for a Debezium PostgreSQL envelope (cut
// down): connect.name and connect.parameters carry the logical types.
const avroValueSchema = `{
  "type": "record", "name": "Envelope", "namespace": "dbserver1.inventory.orders",
  "connect.name": "dbserver1.inventory.orders.Envelope",
  "fields": [
    {"name": "before", "type": ["null", {"type": "record", "name": "Value", "fields": [
      {"name": "id", "type": "long"},
      {"name": "price", "type": ["null", {"type": "bytes", "scale": 2, "precision": 10, "logicalType": "decimal",
        "connect.name": "org.apache.kafka.connect.data.Decimal", "connect.parameters": {"scale": "2", "connect.decimal.precision": "10"}}], "default": null},
      {"name": "amount", "type": ["null", {"type": "record", "name": "VariableScaleDecimal", "namespace": "io.debezium.data",
        "connect.name": "io.debezium.data.VariableScaleDecimal",
        "fields": [{"name": "scale", "type": "int"}, {"name": "value", "type": "bytes"}]}], "default": null},
      {"name": "created", "type": {"type": "long", "connect.name": "io.debezium.time.MicroTimestamp"}},
      {"name": "day", "type": {"type": "int", "connect.name": "io.debezium.time.Date"}},
      {"name": "at", "type": {"type": "long", "connect.name": "io.debezium.time.MicroTime"}},
      {"name": "zoned", "type": {"type": "string", "connect.name": "io.debezium.time.ZonedTimestamp"}},
      {"name": "uid", "type": {"type": "string", "connect.name": "io.debezium.data.Uuid"}},
      {"name": "doc", "type": ["null", {"type": "string", "connect.name": "io.debezium.data.Json"}]},
      {"name": "note", "type": ["null", "string"]},
      {"name": "tags", "type": {"type": "array", "items": "string"}},
      {"name": "mood", "type": {"type": "string", "connect.name": "io.debezium.data.Enum", "connect.parameters": {"allowed": "a,b"}}},
      {"name": "ratio", "type": "double"},
      {"name": "real", "type": "float"},
      {"name": "hinted", "type": ["null", "string"]}
    ]}], "default": null},
    {"name": "after", "type": ["null", "Value"], "default": null},
    {"name": "source", "type": {"type": "record", "name": "Source", "namespace": "io.debezium.connector.postgresql", "fields": [
      {"name": "connector", "type": "string"}, {"name": "name", "type": "string"},
      {"name": "snapshot", "type": ["string", "null"], "default": "false"},
      {"name": "db", "type": "string"}, {"name": "schema", "type": "string"}, {"name": "table", "type": "string"},
      {"name": "txId", "type": ["null", "long"]}, {"name": "lsn", "type": ["null", "long"]}, {"name": "ts_ms", "type": "long"}]}},
    {"name": "op", "type": "string"},
    {"name": "ts_ms", "type": ["null", "long"], "default": null}
  ]}`

const avroKeySchema = `{"type": "record", "name": "Key", "namespace": "dbserver1.inventory.orders",
  "fields": [{"name": "id", "type": "long"}]}`

func frame(id int, body []byte) []byte {
	out := make([]byte, 5, 5+len(body))
	binary.BigEndian.PutUint32(out[1:], uint32(id))
	return append(out, body...)
}

func avroEncode(t testing.TB, schema string, v any) []byte {
	t.Helper()
	s, err := avro.ParseWithCache(schema, "", &avro.SchemaCache{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := avro.Marshal(s, v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAvroEnvelope(t *testing.T) {
	row := map[string]any{
		"id":      int64(9223372036854775807),
		"price":   map[string]any{"bytes.decimal": big.NewRat(3998, 100)},
		"amount":  map[string]any{"io.debezium.data.VariableScaleDecimal": map[string]any{"scale": 3, "value": []byte{0x01, 0xe2, 0x40}}},
		"created": int64(1665791731989360),
		"day":     19279,
		"at":      int64(86131989360),
		"zoned":   "2022-10-15T03:55:31.98936Z",
		"uid":     "60F14FE2-F857-404A-B586-3B5375B3259F",
		"doc":     map[string]any{"string": `{"a": 1}`},
		"note":    map[string]any{"string": Placeholder},
		"tags":    []any{"x"},
		"mood":    "a",
		"ratio":   0.5,
		"real":    float32(0.1),
		"hinted":  map[string]any{"string": "12.30"},
	}
	value := map[string]any{
		"before": nil,
		"after":  map[string]any{"dbserver1.inventory.orders.Value": row},
		"source": map[string]any{"connector": "postgresql", "name": "dbserver1", "snapshot": map[string]any{"string": "first"},
			"db": "inv", "schema": "public", "table": "orders", "txId": map[string]any{"long": int64(5)},
			"lsn": map[string]any{"long": int64(123)}, "ts_ms": int64(1700000000000)},
		"op":    "c",
		"ts_ms": nil,
	}
	d := mustDecoder(t, Options{Columns: map[string]string{"hinted": "numeric(10,2)"}})
	valBytes := frame(7, avroEncode(t, avroValueSchema, value))
	keyBytes := frame(8, avroEncode(t, avroKeySchema, map[string]any{"id": int64(42)}))

	// Unknown ids come back as *UnknownSchemaError, value first, then key.
	_, err := d.Decode(keyBytes, valBytes)
	var unknown *UnknownSchemaError
	if !errors.As(err, &unknown) || unknown.ID != 7 || errors.Is(err, ErrMalformed) {
		t.Fatalf("err = %v, want UnknownSchemaError{7}", err)
	}
	if err := d.AddAvroSchema(7, avroValueSchema); err != nil {
		t.Fatal(err)
	}
	_, err = d.Decode(keyBytes, valBytes)
	if !errors.As(err, &unknown) || unknown.ID != 8 {
		t.Fatalf("err = %v, want UnknownSchemaError{8}", err)
	}
	if err := d.AddAvroSchema(8, avroKeySchema); err != nil {
		t.Fatal(err)
	}
	ch, err := d.Decode(keyBytes, valBytes)
	if err != nil {
		t.Fatal(err)
	}
	wantOp(t, ch, OpCreate)
	wantPos(t, ch, Position{Hi: 123, Lo: SnapshotLo}) // a snapshot record without a committed LSN
	wantEq(t, "snapshot", ch.Source.Snapshot, "first")
	wantEq(t, "table", ch.Source.Table, "orders")
	wantJSON(t, ch.Key, `{"id":42}`)
	want := map[string]string{
		"id": `9223372036854775807`, "price": `"39.98"`, "amount": `"123.456"`, "created": `"2022-10-14T23:55:31.98936Z"`,
		"day": `"2022-10-14"`, "at": `"23:55:31.989360"`, "zoned": `"2022-10-15T03:55:31.98936Z"`,
		"uid": `"60f14fe2-f857-404a-b586-3b5375b3259f"`, "doc": `{"a":1}`, "tags": `["x"]`, "mood": `"a"`,
		"ratio": `0.5`, "real": `0.1`, "hinted": `"12.3"`,
	}
	for col, js := range want {
		wantJSON(t, ch.After[col], js)
	}
	if _, ok := ch.After["note"]; ok || len(ch.Unchanged) != 1 || ch.Unchanged[0] != "note" {
		t.Errorf("TOAST placeholder: after[note] present=%v, unchanged=%v", ok, ch.Unchanged)
	}

	// A truncated body and trailing bytes are malformed.
	for name, b := range map[string][]byte{
		"truncated": valBytes[:len(valBytes)-3],
		"trailing":  append(append([]byte(nil), valBytes...), 1, 2),
		"no frame":  {0, 0, 0},
	} {
		if _, err := d.Decode(nil, b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}

	// Tombstone with an Avro key.
	ch, err = d.Decode(keyBytes, nil)
	if err != nil || ch.Kind != KindTombstone {
		t.Fatalf("tombstone: %+v, %v", ch, err)
	}
	wantJSON(t, ch.Key, `{"id":42}`)
}

const avroMongoSchema = `{"type": "record", "name": "Envelope", "namespace": "m.shop.users", "fields": [
	  {"name": "after", "type": ["null", {"type": "string", "connect.name": "io.debezium.data.Json"}], "default": null},
	  {"name": "updateDescription", "type": ["null", {"type": "record", "name": "updatedescription", "namespace": "io.debezium.connector.mongodb.changestream", "fields": [
	    {"name": "removedFields", "type": ["null", {"type": "array", "items": "string"}]},
	    {"name": "updatedFields", "type": ["null", {"type": "string", "connect.name": "io.debezium.data.Json"}]}]}], "default": null},
	  {"name": "source", "type": {"type": "record", "name": "Source", "namespace": "io.debezium.connector.mongo", "fields": [
	    {"name": "connector", "type": "string"}, {"name": "collection", "type": "string"}, {"name": "ts_ms", "type": "long"}, {"name": "ord", "type": "int"}]}},
	  {"name": "op", "type": "string"}]}`
const avroMongoKeySchema = `{"type": "record", "name": "Key", "fields": [{"name": "id", "type": "string"}]}`
const avroTxSchema = `{"type": "record", "name": "TransactionMetadataValue", "namespace": "io.debezium.connector.common",
	  "connect.name": "io.debezium.connector.common.TransactionMetadataValue", "fields": [
	  {"name": "status", "type": "string"}, {"name": "id", "type": "string"}, {"name": "event_count", "type": ["null", "long"]},
	  {"name": "data_collections", "type": ["null", {"type": "array", "items": {"type": "record", "name": "ConnectDefault",
	    "fields": [{"name": "data_collection", "type": "string"}, {"name": "event_count", "type": "long"}]}}]},
	  {"name": "ts_ms", "type": "long"}]}`

func TestAvroMongoAndMetadata(t *testing.T) {
	d := mustDecoder(t, Options{})
	for id, s := range map[int]string{1: avroMongoSchema, 2: avroMongoKeySchema, 3: avroTxSchema} {
		if err := d.AddAvroSchema(id, s); err != nil {
			t.Fatal(err)
		}
	}
	value := frame(1, avroEncode(t, avroMongoSchema, map[string]any{
		"after": nil,
		"updateDescription": map[string]any{"io.debezium.connector.mongodb.changestream.updatedescription": map[string]any{
			"removedFields": map[string]any{"array": []any{"tmp"}},
			"updatedFields": map[string]any{"string": `{"name": "Ann", "n": {"$numberDecimal": "1.5"}}`},
		}},
		"source": map[string]any{"connector": "mongodb", "collection": "users", "ts_ms": int64(1700000000123), "ord": 4},
		"op":     "u",
	}))
	key := frame(2, avroEncode(t, avroMongoKeySchema, map[string]any{"id": `{"$oid": "63e3a3bf314a4076d249e203"}`}))
	ch, err := d.Decode(key, value)
	if err != nil {
		t.Fatal(err)
	}
	wantJSON(t, ch.Patch, `{"set":{"n":"1.5","name":"Ann"},"unset":["tmp"]}`)
	wantJSON(t, ch.Key, `{"_id":"63e3a3bf314a4076d249e203"}`)
	wantPos(t, ch, Position{Hi: 1700000000, Lo: 4})

	tx := frame(3, avroEncode(t, avroTxSchema, map[string]any{
		"status": "END", "id": "571:53195832", "event_count": map[string]any{"long": int64(2)},
		"data_collections": map[string]any{"array": []any{map[string]any{"data_collection": "s1.a", "event_count": int64(2)}}},
		"ts_ms":            int64(1486500577691),
	}))
	ch, err = d.Decode(nil, tx)
	if err != nil {
		t.Fatal(err)
	}
	wantTx(t, ch, "END", "571:53195832", ptr(int64(2)), []DataCollection{{"s1.a", 2}}, 1486500577691)
}

func TestAddAvroSchemaErrors(t *testing.T) {
	tests := []struct {
		name, schema string
		ok           bool
	}{
		{"not JSON", `{`, false},
		{"record without fields", `{"type": "record", "name": "x"}`, false},
		{"unknown type", `"nope"`, false},
		// Reading is bounded by depth, so a self-referencing record is fine.
		{"recursive record", `{"type": "record", "name": "R", "fields": [{"name": "a", "type": ["null", "R"]}]}`, true},
		{"primitive", `"string"`, true},
	}
	d := mustDecoder(t, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := d.AddAvroSchema(1, tt.schema)
			if (err == nil) != tt.ok {
				t.Errorf("err = %v, want ok=%v", err, tt.ok)
			}
		})
	}
	// A value of the recursive schema nests until the depth limit.
	if err := d.AddAvroSchema(9, `{"type": "record", "name": "R", "fields": [{"name": "a", "type": ["null", "R"]}]}`); err != nil {
		t.Fatal(err)
	}
	deep := make([]byte, 0, 200)
	for range 100 {
		deep = append(deep, 2) // union branch 1: another R
	}
	deep = append(deep, 0)
	if _, err := d.Decode(nil, frame(9, deep)); !errors.Is(err, ErrMalformed) {
		t.Errorf("deep recursion: err = %v, want ErrMalformed", err)
	}
}

// avroSchemas are the schemas the tests register, by id.
var avroSchemas = map[int]string{1: avroMongoSchema, 2: avroMongoKeySchema, 3: avroTxSchema, 7: avroValueSchema, 8: avroKeySchema}

// avroSeeds returns framed records for the fuzzer's corpus.
func avroSeeds(t testing.TB) [][2][]byte {
	pg := map[string]any{
		"before": nil,
		"after": map[string]any{"dbserver1.inventory.orders.Value": map[string]any{
			"id": int64(1), "price": map[string]any{"bytes.decimal": big.NewRat(1, 100)}, "amount": nil,
			"created": int64(0), "day": 1, "at": int64(1), "zoned": "2022-10-15T03:55:31Z", "uid": "60f14fe2-f857-404a-b586-3b5375b3259f",
			"doc": nil, "note": nil, "tags": []any{}, "mood": "b", "ratio": 1.0, "real": float32(1), "hinted": nil,
		}},
		"source": map[string]any{"connector": "postgresql", "name": "n", "snapshot": nil, "db": "d", "schema": "s", "table": "t",
			"txId": nil, "lsn": map[string]any{"long": int64(1)}, "ts_ms": int64(1)},
		"op": "u", "ts_ms": nil,
	}
	return [][2][]byte{
		{frame(8, avroEncode(t, avroKeySchema, map[string]any{"id": int64(1)})), frame(7, avroEncode(t, avroValueSchema, pg))},
		{frame(2, avroEncode(t, avroMongoKeySchema, map[string]any{"id": `1`})), frame(1, avroEncode(t, avroMongoSchema, map[string]any{
			"after": map[string]any{"string": `{"_id": 1}`}, "updateDescription": nil,
			"source": map[string]any{"connector": "mongodb", "collection": "c", "ts_ms": int64(1), "ord": 1}, "op": "c"}))},
	}
}
