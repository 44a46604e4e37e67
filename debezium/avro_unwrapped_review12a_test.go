package debezium

import (
	"testing"
)

// r12aTransfersSchema is the Avro schema AvroConverter registers for the
// ExtractNewRecordState output of a table transfers(id, source, after)
// with add.fields=op,lsn and delete rewrite: a row, named ….Value.
const r12aTransfersSchema = `{"type":"record","name":"Value","namespace":"srv.public.transfers",
 "connect.name":"srv.public.transfers.Value","fields":[
  {"name":"id","type":"long"},
  {"name":"source","type":["null","string"],"default":null},
  {"name":"after","type":["null","string"],"default":null},
  {"name":"__op","type":["null","string"],"default":null},
  {"name":"__lsn","type":["null","long"],"default":null},
  {"name":"__deleted","type":["null","string"],"default":null}]}`

// README ("What it decodes"): "a value with source and before or after but
// no op is a malformed envelope, so an unwrapped table with such columns
// needs format: unwrapped". With Avro values that remedy does not work:
// Decoder.Decode sends only FormatAvro/FormatAuto values to decodeAvro, so
// a source declared format: unwrapped reads Confluent-framed Avro as JSON
// (and never asks the registry), although decodeAvro itself has a branch
// for d.format == FormatUnwrapped that can never be reached.
func TestR12aAvroUnwrappedFormatOverride(t *testing.T) {
	d := mustDecoder(t, Options{Format: FormatUnwrapped})
	if err := d.AddAvroSchema(1, r12aTransfersSchema); err != nil {
		t.Fatal(err)
	}
	v := map[string]any{"id": int64(7), "source": map[string]any{"string": "acct-1"}, "after": map[string]any{"string": "acct-2"},
		"__op": map[string]any{"string": "c"}, "__lsn": map[string]any{"long": int64(500)}, "__deleted": map[string]any{"string": "false"}}
	ch, err := d.Decode(nil, frame(1, avroEncode(t, r12aTransfersSchema, v)))
	if err != nil {
		t.Fatalf("format unwrapped, Avro row: %v", err)
	}
	if ch.Kind != KindChange || ch.Op != OpCreate {
		t.Fatalf("kind %v op %v, want a create", ch.Kind, ch.Op)
	}
	wantJSON(t, ch.After, `{"after":"acct-2","id":7,"source":"acct-1"}`)
	wantPos(t, ch, Position{Hi: 500})
}

// An Avro unwrapped row of a table that has a column named "ddl" (an audit
// table of migrations, say) is read as a Debezium schema-change event and
// silently dropped (KindSchemaChange is never projected), although the
// record is named srv.public.ddl_log.Value, not …SchemaChangeValue, and
// carries the SMT's __op and __lsn. avro.go:avroForm falls back to the
// member-name heuristic for every record, where Avro always gives the
// record's name; and the format: unwrapped override cannot reach Avro.
func TestR12aAvroUnwrappedRowWithDDLColumnIsNotSchemaChange(t *testing.T) {
	const schema = `{"type":"record","name":"Value","namespace":"srv.public.ddl_log",
	 "connect.name":"srv.public.ddl_log.Value","fields":[
	  {"name":"id","type":"long"},
	  {"name":"ddl","type":["null","string"],"default":null},
	  {"name":"__op","type":["null","string"],"default":null},
	  {"name":"__lsn","type":["null","long"],"default":null},
	  {"name":"__deleted","type":["null","string"],"default":null}]}`
	d := mustDecoder(t, Options{Format: FormatAvro})
	if err := d.AddAvroSchema(1, schema); err != nil {
		t.Fatal(err)
	}
	v := map[string]any{"id": int64(3), "ddl": map[string]any{"string": "ALTER TABLE t ADD c int"},
		"__op": map[string]any{"string": "c"}, "__lsn": map[string]any{"long": int64(900)}, "__deleted": map[string]any{"string": "false"}}
	ch, err := d.Decode(nil, frame(1, avroEncode(t, schema, v)))
	if err != nil {
		t.Fatal(err)
	}
	if ch.Kind != KindChange {
		t.Fatalf("kind %v (schema change %+v), want a row change: the row is dropped", ch.Kind, ch.SchemaChange)
	}
	wantJSON(t, ch.After, `{"ddl":"ALTER TABLE t ADD c int","id":3}`)
}

// The same heuristic turns an Avro row of a table jobs(id text, status
// text, event_count int) into a transaction BEGIN/END marker: it is never
// projected, although the record is srv.public.jobs.Value, not
// io.debezium.connector.common.TransactionMetadataValue.
func TestR12aAvroUnwrappedRowWithStatusColumnsIsNotTransaction(t *testing.T) {
	const schema = `{"type":"record","name":"Value","namespace":"srv.public.jobs",
	 "connect.name":"srv.public.jobs.Value","fields":[
	  {"name":"id","type":"string"},
	  {"name":"status","type":["null","string"],"default":null},
	  {"name":"event_count","type":["null","int"],"default":null},
	  {"name":"__op","type":["null","string"],"default":null},
	  {"name":"__lsn","type":["null","long"],"default":null}]}`
	d := mustDecoder(t, Options{Format: FormatAvro})
	if err := d.AddAvroSchema(1, schema); err != nil {
		t.Fatal(err)
	}
	v := map[string]any{"id": "job-1", "status": map[string]any{"string": "END"}, "event_count": map[string]any{"int": 4},
		"__op": map[string]any{"string": "u"}, "__lsn": map[string]any{"long": int64(77)}}
	ch, err := d.Decode(nil, frame(1, avroEncode(t, schema, v)))
	if err != nil {
		t.Fatal(err)
	}
	if ch.Kind != KindChange {
		t.Fatalf("kind %v (transaction %+v), want a row change: the row is dropped", ch.Kind, ch.Transaction)
	}
	wantJSON(t, ch.After, `{"event_count":4,"id":"job-1","status":"END"}`)
}
