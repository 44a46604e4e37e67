package debezium

import "testing"

// TestReviewUnwrappedFormatTruncatePassThrough: ExtractNewRecordState does
// not unwrap a truncate event. With delete.tombstone.handling.mode=
// rewrite-with-tombstone (DeleteTombstoneExtractRecordStrategy
// .handleTruncateRecord returns the record) or with the legacy
// drop.tombstones=false (LegacyDeleteHandlingStrategy), the original
// envelope {"source":…,"op":"t",…} is forwarded as it is, on the table's
// topic, among the unwrapped rows (see event-flattening.adoc and
// postgresql.adoc "truncate events", whose key is null).
//
// A source declared `format: unwrapped` (which README "What it decodes"
// asks for whenever the table's columns could look like an envelope) reads
// that envelope as a row: decoder.go forces formUnwrapped, and unwrapped.go
// reports an upsert (OpUpdate) of a row whose columns are "source", "op",
// "before", "after", "ts_ms", "transaction". The truncate is lost and a bogus
// row is produced. It must be OpTruncate (or at least an error).
func TestReviewUnwrappedFormatTruncatePassThrough(t *testing.T) {
	d := mustDecoder(t, Options{Format: FormatUnwrapped})
	value := `{"before":null,"after":null,"source":{"version":"2.7.3.Final","connector":"postgresql","name":"s","ts_ms":1,"snapshot":"false","db":"d","sequence":"[\"10\",\"20\"]","schema":"public","table":"t","txId":5,"lsn":20,"xmin":null},"transaction":null,"op":"t","ts_ms":2}`
	ch, err := d.Decode(nil, []byte(value))
	if err != nil {
		return // an error names the problem: acceptable
	}
	if ch.Kind != KindChange || ch.Op != OpTruncate {
		t.Errorf("truncate envelope under format unwrapped decoded as kind %v op %v after %v; want a truncate", ch.Kind, ch.Op, ch.After)
	}
}
