package elasticsearch

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/projectorhq/projector/sinks"
)

// TestR33aAliasWithPercentSetsUp: FAILS on the current code.
//
// An alias (a view's `index:`) may contain "%": Elasticsearch's index and
// alias name rules forbid only \ / * ? " < > | space , # and :, a leading
// _ - +, "." and "..", upper case and more than 255 bytes
// (elastic.co/guide/en/elasticsearch/reference/<ver>/indices-create-index.html,
// "Index name limitations"; server MetadataCreateIndexService
// .validateIndexOrAliasName, which aliases go through too), and projector's
// own checks (config indexProblem, sink validName) accept it too.
// Elasticsearch percent-decodes every path segment (RestUtils
// .decodeComponent), so a name must be escaped in a URL. The sink does so
// in ownTemplate, AliasIndices, Refresh, DeleteIndex and the reader's
// search, but Setup's GET /_alias/<alias> and CreateIndices' PUT
// /_index_template/<alias> and PUT /<index> paste the raw name into the
// path: "sales%ab" does not even parse as a URL ("invalid URL escape"), and
// a name such as "a%25b" would be decoded by Elasticsearch to "a%b" — the
// template, the index and the alias look-up would name another index than
// the one the bulk writes (by its JSON _index) and the alias is put on.
// Fix: url.PathEscape the alias and the index in Setup and CreateIndices
// (sink.go), as the other calls do.
func TestR33aAliasWithPercentSetsUp(t *testing.T) {
	for _, alias := range []string{"sales%ab", "sales%2524"} {
		t.Run(alias, func(t *testing.T) {
			b := fakeBackend(t)
			v := View{Name: "v", Alias: b.prefix + alias, Fields: []Field{{Name: "title", Type: "text"}}}
			s, err := New(b.cfg, []View{v})
			if err != nil {
				t.Fatalf("New refused a valid Elasticsearch name: %v", err)
			}
			t.Cleanup(s.Close)
			ctx := context.Background()
			if err := s.Setup(ctx); err != nil {
				t.Fatalf("Setup with alias %q: %v", v.Alias, err)
			}
			doc := sinks.Doc{View: "v", ID: "1", Rev: 1, Fields: map[string]any{"title": "x"}}
			if err := s.Write(ctx, []sinks.Doc{doc}); err != nil {
				t.Fatalf("Write: %v", err)
			}
			// The index the sink created by name is the one it writes to,
			// and readers find the doc through the alias.
			on, err := s.AliasIndices(ctx, v.Alias)
			if err != nil {
				t.Fatalf("AliasIndices: %v", err)
			}
			if len(on) != 1 || on[0] != v.Alias+"-g1" {
				t.Fatalf("alias %q is on %v, want [%s-g1]", v.Alias, on, v.Alias)
			}
			status, body := b.do(t, http.MethodGet, "/_index_template/"+url.PathEscape(v.Alias), nil)
			if status != http.StatusOK {
				t.Fatalf("no index template named %q: %d %v", v.Alias, status, body)
			}
			if got := b.get(t, url.PathEscape(v.Alias), "1"); !got.found || got.version != 1 {
				t.Fatalf("doc through alias %q: %+v", v.Alias, got)
			}
		})
	}
}
