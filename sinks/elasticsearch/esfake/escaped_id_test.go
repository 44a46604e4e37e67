package esfake

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
)

// TestGetDocByEscapedID: as in Elasticsearch, a doc id is one path segment
// whatever it holds once escaped: an escaped "/" (%2F) does not split it.
func TestGetDocByEscapedID(t *testing.T) {
	f := start(t)
	for _, id := range []string{"a/b", "a?b", "a#b", "100%", "a b", "a%2Fb", "ünï/代码"} {
		t.Run(id, func(t *testing.T) {
			action, _ := json.Marshal(map[string]any{"index": map[string]any{"_index": "t", "_id": id}})
			f.must(t, http.MethodPost, "/_bulk", string(action)+"\n{\"n\":1}\n")
			status, got := f.do(t, http.MethodGet, "/t/_doc/"+url.PathEscape(id), "")
			if status != http.StatusOK || got["_id"] != id {
				t.Fatalf("GET /t/_doc/%s = %d %v, want doc %q", url.PathEscape(id), status, got, id)
			}
		})
	}
}
