package elasticsearch

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/projectorhq/projector/sinks"
	"github.com/projectorhq/projector/sinks/elasticsearch/esfake"
)

// awkwardIDs are doc ids whose escaping a request path must keep.
var awkwardIDs = []string{"a/b", "a?b", "a#b", "100%", "a b", "a%2Fb", "ünï/代码"}

// TestRefusedDocLookupUnderPathPrefix: with the cluster behind a reverse
// proxy that serves it under a path (URL http://host/es/), the lookup of a
// refused doc (dropStale) must reach that doc whatever its id holds. README
// "Refused documents": an outdated version the mapping refuses is counted
// stale; a newer one is refused on its own.
func TestRefusedDocLookupUnderPathPrefix(t *testing.T) {
	fake := esfake.New()
	direct := httptest.NewServer(fake)
	t.Cleanup(direct.Close)
	// The proxy forwards the path as it came, escaping included.
	proxy := httptest.NewServer(http.StripPrefix("/es", fake))
	t.Cleanup(proxy.Close)
	for _, base := range []struct{ name, url, alias string }{
		{"no prefix", direct.URL, "direct"},
		{"prefix", proxy.URL + "/es/", "proxied"},
	} {
		t.Run(base.name, func(t *testing.T) {
			b := &backend{name: "esfake", cfg: Config{URL: base.url, MaxBackoff: time.Millisecond}, fake: fake, prefix: "t-"}
			b.client = testClient(t, Config{URL: direct.URL})
			for i, id := range awkwardIDs {
				t.Run(id, func(t *testing.T) {
					view := View{Name: "items", Alias: base.alias + string(rune('a'+i)), Fields: itemFields}
					s := b.newSink(t, nil, view)
					assertRefusedDocLookup(t, b, s, b.prefix+view.Alias, id)
				})
			}
		})
	}
}

func assertRefusedDocLookup(t *testing.T, b *backend, s *Sink, alias, id string) {
	t.Helper()
	ctx := context.Background()
	doc := func(rev int64, qty string) sinks.Doc {
		return sinks.Doc{View: "items", ID: id, Key: map[string]any{"id": json.Number("1")}, Rev: rev,
			Fields: map[string]any{"id": json.Number("1"), "title": "t", "qty": qty}}
	}
	if err := s.Write(ctx, []sinks.Doc{doc(2, "5")}); err != nil {
		t.Fatal(err)
	}
	if got := b.get(t, alias, id); !got.found || got.version != 2 {
		t.Fatalf("doc %q = %+v, want stored at rev 2", id, got)
	}
	if err := s.Write(ctx, []sinks.Doc{doc(1, "not a number")}); err != nil {
		t.Fatalf("an older doc the mapping refuses: %v, want it skipped as stale (rev 2 is stored)", err)
	}
	if s.Stale() != 1 {
		t.Errorf("stale count %d, want 1", s.Stale())
	}
	err := s.Write(ctx, []sinks.Doc{doc(3, "not a number")})
	var be *sinks.BatchError
	if !errors.As(err, &be) || !errors.Is(be.Failed[0], sinks.ErrRefused) {
		t.Fatalf("a newer doc the mapping refuses: %v, want it refused", err)
	}
}
