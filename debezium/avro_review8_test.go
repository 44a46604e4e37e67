package debezium

import (
	"errors"
	"testing"
)

// Input: a Confluent-framed Avro record {"id": long, "ok": boolean} whose
// boolean byte is 0x02.
// Avro 1.11 specification, Binary Encoding / Primitive Types: "a boolean
// is written as a single byte whose value is either 0 (false) or 1
// (true)". Any other byte is not a boolean (hamba/avro reports "invalid
// bool"; Java's BinaryDecoder reads 2 as false). avroread.go:283 reads
// every non-zero byte as true, so a corrupt record decodes silently.
func TestReview8AvroBooleanByteNotZeroOrOne(t *testing.T) {
	d := mustDecoder(t, Options{})
	const schema = `{"type":"record","name":"Row","namespace":"x","fields":[{"name":"id","type":"long"},{"name":"ok","type":"boolean"}]}`
	if err := d.AddAvroSchema(1, schema); err != nil {
		t.Fatal(err)
	}
	ch, err := d.Decode(nil, frame(1, []byte{0x02, 0x02}))
	if !errors.Is(err, ErrMalformed) {
		t.Errorf("boolean byte 0x02 read as %v (err %v), want ErrMalformed", ch.After["ok"], err)
	}
}
