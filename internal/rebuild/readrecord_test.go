package rebuild

import (
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/projections"
)

// TestReadRecordDecodesAsItsSource: a source row read by rebuild --from
// source decodes, with the decoder its source's format gives, as that row
// read by an incremental snapshot at the snapshot's LSN, unwrapped sources
// (ExtractNewRecordState) included, whose decoder reads an envelope as a
// row.
func TestReadRecordDecodesAsItsSource(t *testing.T) {
	for _, format := range []string{"auto", "json", "unwrapped"} {
		src := &projections.Source{Name: "items", Topic: "shop.public.items", Format: format, Key: []string{"id"},
			Columns: map[string]config.Type{"id": {Name: "bigint", Precision: -1, Scale: -1}, "name": {Name: "text", Precision: -1, Scale: -1}}}
		rec, err := readRecord(src, map[string]any{"id": 7}, map[string]any{"id": 7, "name": "seven"}, 12345)
		if err != nil {
			t.Fatal(err)
		}
		f, err := debezium.ParseFormat(format)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := debezium.NewDecoder(debezium.Options{Format: f, Columns: map[string]string{"id": "bigint", "name": "text"}})
		if err != nil {
			t.Fatal(err)
		}
		ch, err := dec.Decode(rec.Key, rec.Value)
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if ch.Op != debezium.OpRead || len(ch.After) != 2 || ch.After["name"] != "seven" || ch.Position != (debezium.Position{Hi: 12345}) {
			t.Errorf("%s: op %v after %v position %v; want the read of the row at 12345/0", format, ch.Op, ch.After, ch.Position)
		}
	}
}
