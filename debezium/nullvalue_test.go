package debezium

import (
	"errors"
	"testing"
)

// TestNULIsNotATombstone: a value starting with a NUL byte (an Avro record
// on a topic read as JSON) is malformed; only no bytes, white space or the
// JSON null are a tombstone, which a source may take as a delete.
func TestNULIsNotATombstone(t *testing.T) {
	d := mustDecoder(t, Options{Format: FormatJSON})
	for _, v := range []string{"\x00\x00\x00\x00\x01\x02", "\x00", "null\x00"} {
		ch, err := d.Decode([]byte(`{"id":1}`), []byte(v))
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("value %q: kind %v, err %v; want malformed", v, ch.Kind, err)
		}
	}
	for _, v := range []string{"", "  ", "null", " null\n"} {
		ch, err := d.Decode([]byte(`{"id":1}`), []byte(v))
		if err != nil || ch.Kind != KindTombstone {
			t.Errorf("value %q: kind %v, err %v; want a tombstone", v, ch.Kind, err)
		}
	}
}
