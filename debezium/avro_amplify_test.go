package debezium

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// nestedNullsSchema is a Debezium-shaped envelope whose row has an
// array of arrays of null: items that take no bytes on the wire.
const nestedNullsSchema = `{
  "type": "record", "name": "Envelope", "namespace": "srv.public.t",
  "fields": [
    {"name": "before", "type": ["null", {"type": "record", "name": "Value", "fields": [
      {"name": "id", "type": "long"},
      {"name": "grid", "type": {"type": "array", "items": {"type": "array", "items": "null"}}}
    ]}], "default": null},
    {"name": "after", "type": ["null", "Value"], "default": null},
    {"name": "source", "type": {"type": "record", "name": "Source", "namespace": "io.debezium.connector.postgresql", "fields": [
      {"name": "connector", "type": "string"}, {"name": "name", "type": "string"},
      {"name": "db", "type": "string"}, {"name": "schema", "type": "string"}, {"name": "table", "type": "string"},
      {"name": "lsn", "type": ["null", "long"]}, {"name": "ts_ms", "type": "long"}]}},
    {"name": "op", "type": "string"},
    {"name": "ts_ms", "type": ["null", "long"], "default": null}
  ]}`

func zigzag(n int64) []byte {
	return binary.AppendVarint(nil, n) // Avro's zigzag varint
}

// TestAvroNestedEmptyItemsDoNotAmplify: item counts are bounded by the
// record's size across the whole record. Bounded per array, an array of K
// arrays each declaring M zero-byte items would decode to K*M values from
// ~3K bytes: a 3 KB record millions of values, a 1 MB Kafka record ~10^11
// (the process killed for lack of memory, on every retry).
func TestAvroNestedEmptyItemsDoNotAmplify(t *testing.T) {
	d := mustDecoder(t, Options{Format: FormatAvro})
	if err := d.AddAvroSchema(41, nestedNullsSchema); err != nil {
		t.Fatal(err)
	}
	body := avroEncode(t, nestedNullsSchema, map[string]any{
		"before": nil,
		"after":  map[string]any{"srv.public.t.Value": map[string]any{"id": int64(1), "grid": []any{}}},
		"source": map[string]any{"connector": "postgresql", "name": "srv", "db": "d", "schema": "public", "table": "t",
			"lsn": map[string]any{"long": int64(1)}, "ts_ms": int64(1)},
		"op": "c", "ts_ms": nil,
	})
	// before=null (0x00), after=branch 1 (0x02), id=1 (0x02), grid=[] (0x00).
	empty := []byte{0x00, 0x02, 0x02, 0x00}
	if !bytes.HasPrefix(body, empty) {
		t.Fatalf("unexpected encoding % x", body[:8])
	}
	const outer, inner = 1000, 3000
	var grid []byte
	grid = append(grid, zigzag(outer)...)
	for range outer {
		grid = append(grid, zigzag(inner)...) // inner items: nulls, zero bytes each
		grid = append(grid, 0x00)             // end of the inner array
	}
	grid = append(grid, 0x00) // end of the outer array
	rec := append(append(append([]byte{}, empty[:3]...), grid...), body[4:]...)
	ch, err := d.Decode(nil, frame(41, rec))
	if err != nil {
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("refused with %v, want ErrMalformed (a dead letter)", err)
		}
		return
	}
	n := 0
	if g, ok := ch.After["grid"].([]any); ok {
		for _, row := range g {
			if r, ok := row.([]any); ok {
				n += len(r)
			}
		}
	}
	if n > 16*len(rec) {
		t.Fatalf("a %d-byte record decoded to %d values (%.0fx its size): unbounded amplification from nested zero-byte Avro items", len(rec), n, float64(n)/float64(len(rec)))
	}
}
