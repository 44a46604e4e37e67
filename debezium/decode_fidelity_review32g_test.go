package debezium

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// TestR32gCloudEventsIsNotARow: Debezium documents a second value format for
// every connector, io.debezium.converters.CloudEventsConverter ("Emitting
// Debezium change event records in CloudEvents format", integrations/
// cloudevents.adoc). Its documented PostgreSQL example is
//
//	{"id":"name:test_server;lsn:29274832;txId:565",
//	 "source":"/debezium/postgresql/test_server","specversion":"1.0",
//	 "type":"io.debezium.connector.postgresql.DataChangeEvent", ...,
//	 "iodebeziumop":"r", ..., "iodebeziumlsn":"29274832", ...,
//	 "data":{"before":null,"after":{"pk":1,"name":"Bob"}}}
//
// README "What it decodes" says projector "reads whatever a Debezium
// deployment emits, and detects the form by itself ... by its members
// otherwise". Such a record has a "source" member but no "op", "before" or
// "after" at the top, so members.form (schema.go) classes it as an
// unwrapped row: the CloudEvent itself (specversion, iodebeziumop, data,
// ...) becomes the row, and it is applied as an upsert. A CloudEvents
// *delete* (iodebeziumop "d") thus writes a row instead of deleting one,
// silently. It must be read as the change it carries, or be a dead letter
// that says why; never a row of the envelope's attributes.
func TestR32gCloudEventsIsNotARow(t *testing.T) {
	const value = `{"id":"name:test_server;lsn:29274832;txId:565",` +
		`"source":"/debezium/postgresql/test_server","specversion":"1.0",` +
		`"type":"io.debezium.connector.postgresql.DataChangeEvent",` +
		`"time":"2020-01-13T13:55:39.738Z","datacontenttype":"application/json",` +
		`"iodebeziumop":"d","iodebeziumversion":"2.7.3.Final","iodebeziumconnector":"postgresql",` +
		`"iodebeziumname":"test_server","iodebeziumtsms":"1578923739738","iodebeziumsnapshot":"false",` +
		`"iodebeziumdb":"postgres","iodebeziumschema":"s1","iodebeziumtable":"a",` +
		`"iodebeziumtxId":"565","iodebeziumlsn":"29274832","iodebeziumxmin":null,` +
		`"data":{"before":{"pk":1,"name":"Bob"},"after":null}}`
	d := mustDecoder(t, Options{})
	ch, err := d.Decode([]byte(`{"pk":1}`), []byte(value))
	if err != nil {
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("error %v does not wrap ErrMalformed (it would not be dead-lettered as a bad record)", err)
		}
		return // a dead letter with a reason: acceptable
	}
	out, _ := json.Marshal(ch)
	if ch.Op != OpDelete {
		t.Errorf("a CloudEvents delete (iodebeziumop d) decoded as op %v: %s", ch.Op, out)
	}
	for _, row := range []map[string]any{ch.After, ch.Before} {
		for _, attr := range []string{"specversion", "iodebeziumop", "data"} {
			if _, ok := row[attr]; ok {
				t.Errorf("the CloudEvent's attribute %q reached the row: %s", attr, out)
			}
		}
	}
}

// TestR32gSchemalessByteaToastPlaceholder: for an unchanged TOASTed bytea
// column the PostgreSQL connector writes the placeholder's bytes
// (PostgresValueConverter.convertBinaryToBytes returns
// UnchangedToastedPlaceholder.getToastPlaceholderBinary(); for a bytea[]
// UNCHANGED_BINARY_ARRAY_TOAST_VALUE, a list holding them). JsonConverter
// writes bytes as base64, so with schemas.enable=false (the form of the
// SOURCES.md captures) the column reads
// "X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==", and so it does under
// binary.handling.mode=base64 ("represents binary data as base64-encoded
// string"), whose schema is a plain string. README "What it decodes",
// TOAST: "a column carrying __debezium_unavailable_value keeps its stored
// value; the placeholder never reaches a view ... bytea[] its bytes". The
// placeholder is recognised only once the column is read as bytes (a
// schema's "bytes", or a declared bytea): a bytea the source does not
// declare gets the placeholder's base64 as its value, overwriting the
// stored one on every update that leaves it unchanged.
func TestR32gSchemalessByteaToastPlaceholder(t *testing.T) {
	const b64 = "X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ=="
	tests := []struct{ name, value, col string }{
		{"schemaless bytea", `{"before":null,"after":{"id":1,"raw":"` + b64 + `"},` +
			`"source":{"connector":"postgresql","lsn":100},"op":"u","ts_ms":1}`, "raw"},
		{"schemaless bytea[]", `{"before":null,"after":{"id":1,"raws":["` + b64 + `"]},` +
			`"source":{"connector":"postgresql","lsn":100},"op":"u","ts_ms":1}`, "raws"},
		{"binary.handling.mode=base64 with schema", string(pgRecord(map[string]string{
			"id":  `{"type":"int32"}`,
			"raw": `{"type":"string","optional":true}`,
		}, []string{"id", "raw"}, `{"id":1,"raw":"`+b64+`"}`)), "raw"},
	}
	d := mustDecoder(t, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, err := d.Decode([]byte(`{"id":1}`), []byte(tt.value))
			if err != nil {
				t.Fatal(err)
			}
			if v, ok := ch.After[tt.col]; ok {
				out, _ := json.Marshal(v)
				t.Errorf("unchanged TOASTed %s reached After as %s; want it absent and listed in Unchanged", tt.col, out)
			}
			if !strings.Contains(","+strings.Join(ch.Unchanged, ",")+",", ","+tt.col+",") {
				t.Errorf("Unchanged = %v, want it to list %s", ch.Unchanged, tt.col)
			}
		})
	}
}
