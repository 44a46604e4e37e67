package rebuild

import (
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/projections"
)

// TestR35gReadRecordUnwrappedPrefix: README: a connector that renames the
// SMT's members says so in its source (`unwrapped: { fields_prefix: meta_ }`),
// and projector's decoder then reads meta_op, meta_lsn and meta_snapshot.
// rebuild --from source encodes the rows of such a source with "__op",
// "__lsn" and "__snapshot" whatever the prefix, so its decoder reads them as
// columns: the read has no LSN (Position{}, older than every stored row, so it
// replaces none) and is no read.
func TestR35gReadRecordUnwrappedPrefix(t *testing.T) {
	src := &projections.Source{Name: "items", Topic: "shop.public.items", Format: "unwrapped", Key: []string{"id"},
		Unwrapped: config.Unwrapped{FieldsPrefix: "meta_", HeadersPrefix: "meta_"},
		Columns:   map[string]config.Type{"id": {Name: "bigint", Precision: -1, Scale: -1}, "name": {Name: "text", Precision: -1, Scale: -1}}}
	rec, err := readRecord(src, map[string]any{"id": 7}, map[string]any{"id": 7, "name": "seven"}, 12345)
	if err != nil {
		t.Fatal(err)
	}
	f, err := debezium.ParseFormat("unwrapped")
	if err != nil {
		t.Fatal(err)
	}
	dec, err := debezium.NewDecoder(debezium.Options{Format: f, Columns: map[string]string{"id": "bigint", "name": "text"},
		FieldsPrefix: "meta_", HeadersPrefix: "meta_"})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := dec.Decode(rec.Key, rec.Value)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Op != debezium.OpRead || ch.Position != (debezium.Position{Hi: 12345}) || len(ch.After) != 2 {
		t.Errorf("op %v after %v position %v; want the read of the row at 12345/0", ch.Op, ch.After, ch.Position)
	}
}
