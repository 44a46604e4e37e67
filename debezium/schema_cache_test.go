package debezium

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// wideRecord is a schema-enabled PostgreSQL insert of row {"id": id} whose
// schema is unique to name and declares width string columns in each image:
// about 160 bytes of schema per column.
func wideRecord(name string, width int, id int) []byte {
	var fields strings.Builder
	for i := range width {
		fmt.Fprintf(&fields, `,{"field":"column_with_a_rather_long_name_%06d","type":"string","optional":true}`, i)
	}
	rest := fields.String()
	schema := fmt.Sprintf(`{"type":"struct","name":"%s.Envelope","fields":[
{"field":"before","type":"struct","optional":true,"fields":[{"field":"id","type":"int64"}%s]},
{"field":"after","type":"struct","optional":true,"fields":[{"field":"id","type":"int64"}%s]},
{"field":"op","type":"string"},
{"field":"source","type":"struct","fields":[{"field":"connector","type":"string"},{"field":"lsn","type":"int64"}]}]}`, name, rest, rest)
	return []byte(fmt.Sprintf(`{"schema":%s,"payload":{"op":"c","source":{"connector":"postgresql","lsn":1},"before":null,"after":{"id":%d}}}`, schema, id))
}

func checkWide(t *testing.T, d *Decoder, value []byte, id int) {
	t.Helper()
	ch, err := d.Decode([]byte(fmt.Sprintf(`{"id":%d}`, id)), value)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(ch.After["id"]); got != fmt.Sprint(id) {
		t.Fatalf("after.id = %s, want %d", got, id)
	}
}

// TestSchemaCacheBoundedByBytes: records whose schemas all differ (in
// their first bytes, so each one gets its own prefix entry too) must not
// make a decoder keep more than maxSchemaBytes: a compiled schema holds
// about three times its text, so counting schemas alone let 1,500 records
// of 240 KB keep 1.1 GB. Old schemas are evicted, new ones still cached.
func TestSchemaCacheBoundedByBytes(t *testing.T) {
	d := mustDecoder(t, Options{})
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const n = 200 // of about 160 KB: three times maxSchemaBytes when cached
	var last []byte
	for i := range n {
		last = wideRecord(fmt.Sprintf("r%06d", i), 1000, i)
		checkWide(t, d, last, i)
		if d.schemaBytes > maxSchemaBytes {
			t.Fatalf("after %d records the cache holds %d bytes, over %d", i+1, d.schemaBytes, maxSchemaBytes)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	kept := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("heap kept after %d records of %d bytes with distinct schemas: %d MB", n, len(last), kept>>20)
	if kept > 64<<20 { // maxSchemaBytes and some slack, a quarter of the memory target
		t.Errorf("the decoder keeps %d MB of schemas after %d records: its cache is not bounded by size", kept>>20, n)
	}
	if c, _ := d.knownSchema(last[len(`{"schema":`):], roleValue); c == nil {
		t.Errorf("the newest schema is not cached")
	}
	runtime.KeepAlive(d)
}

// TestSchemaOverCacheBound: a schema larger than the whole cache is not
// kept, and every record using it still decodes, parsing it again.
func TestSchemaOverCacheBound(t *testing.T) {
	d := mustDecoder(t, Options{})
	small := wideRecord("small", 1, 1)
	checkWide(t, d, small, 1)
	huge := wideRecord("huge", 100_000, 2) // about 16 MB of text
	for range 2 {
		checkWide(t, d, huge, 2)
	}
	if len(d.schemas) != 1 {
		t.Errorf("%d schemas cached, want only the small one", len(d.schemas))
	}
	if c, _ := d.knownSchema(small[len(`{"schema":`):], roleValue); c == nil {
		t.Errorf("the small schema was evicted by one too large to cache")
	}
}
