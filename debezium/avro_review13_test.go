package debezium

import "testing"

// r13TruncateEnvelope is a PostgreSQL truncate event (op "t", no before,
// no after) in the envelope schema AvroConverter registers, named
// dbserver1.inventory.orders.Envelope.
func r13TruncateEnvelope(t *testing.T) []byte {
	v := map[string]any{
		"before": nil, "after": nil,
		"source": map[string]any{"connector": "postgresql", "name": "dbserver1", "snapshot": map[string]any{"string": "false"},
			"db": "inv", "schema": "public", "table": "orders", "txId": map[string]any{"long": int64(5)},
			"lsn": map[string]any{"long": int64(777)}, "ts_ms": int64(1700000000000)},
		"op": "t", "ts_ms": nil,
	}
	return frame(7, avroEncode(t, avroValueSchema, v))
}

// README ("What it decodes"): "a truncate the SMT forwards as an envelope
// is a truncate, even in a source declared format: unwrapped", and format
// unwrapped "also reads Avro-framed values". The JSON path keeps that
// (envelope.go: isTruncate), and the record's schema is named ….Envelope,
// which formOfName now reads as a change event. decodeAvro forces
// formUnwrapped for every record under FormatUnwrapped, so the Avro truncate
// is read as a row whose columns are the envelope's members.
func TestR13AvroTruncateUnderFormatUnwrapped(t *testing.T) {
	// Control: the same decoder shape with format auto reads it as a truncate.
	auto := mustDecoder(t, Options{})
	if err := auto.AddAvroSchema(7, avroValueSchema); err != nil {
		t.Fatal(err)
	}
	if ch, err := auto.Decode(nil, r13TruncateEnvelope(t)); err != nil || ch.Op != OpTruncate {
		t.Fatalf("format auto: %+v, %v; want a truncate", ch, err)
	}
	d := mustDecoder(t, Options{Format: FormatUnwrapped})
	if err := d.AddAvroSchema(7, avroValueSchema); err != nil {
		t.Fatal(err)
	}
	ch, err := d.Decode(nil, r13TruncateEnvelope(t))
	if err != nil {
		t.Fatalf("format unwrapped: %v", err)
	}
	if ch.Kind != KindChange || ch.Op != OpTruncate {
		t.Errorf("format unwrapped: kind %v op %q after %v; want the truncate at LSN 777", ch.Kind, ch.Op, ch.After)
	}
}
