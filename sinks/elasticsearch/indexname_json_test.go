package elasticsearch

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/projectorhq/projector/sinks"
)

// oddIndexName holds what Elasticsearch takes in an index name but
// strconv.Quote would not write as JSON: a control character, DEL, a rune
// above U+FFFF that Go deems unprintable (U+E0001 LANGUAGE TAG), and one
// it prints (U+1F600).
const oddIndexName = "odd\x01\x7f\U000e0001\U0001f600"

// TestIndexNameInBulkLinesIsJSON: the bulk lines the sink writes by hand
// name the index as a JSON string, whatever its characters: the writes
// and the purge's deletes reach the view's index.
func TestIndexNameInBulkLinesIsJSON(t *testing.T) {
	b := fakeBackend(t)
	s := b.newSink(t, nil, View{Name: "v", Alias: oddIndexName, Fields: itemFields})
	index := s.views["v"].index
	for _, line := range [][]byte{
		append(s.views["v"].actionHead, `"1"}}`...),
		deleteBody(index, []tombstoneHit{{ID: "1", Version: 1}}),
	} {
		var action map[string]struct {
			Index string `json:"_index"`
		}
		if err := json.Unmarshal(line, &action); err != nil {
			t.Fatalf("%q is not JSON: %v", line, err)
		}
		for _, a := range action {
			if a.Index != index {
				t.Fatalf("%q names index %q, want %q", line, a.Index, index)
			}
		}
	}

	at := t0
	s.now = func() time.Time { return at }
	ctx := context.Background()
	gone := sinks.Doc{View: "v", ID: "1", Key: map[string]any{"id": json.Number("1")}, Rev: 1, Deleted: true}
	if err := s.Write(ctx, []sinks.Doc{gone}); err != nil {
		t.Fatalf("Write to index %q: %v", index, err)
	}
	if err := s.Refresh(ctx, index); err != nil {
		t.Fatal(err)
	}
	at = t0.Add(48 * time.Hour)
	if n, err := s.PurgeTombstones(ctx, time.Hour); n != 1 || err != nil {
		t.Fatalf("PurgeTombstones of index %q = %d, %v; want its tombstone purged", index, n, err)
	}
}
