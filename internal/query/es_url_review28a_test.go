package query

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/sinks/elasticsearch/esfake"
)

// r28aStrictES answers as Elasticsearch's REST controller does a path with
// an empty segment ("//_search": 400 "no handler found for uri"), and
// forwards the others, less prefix, to fake. It records the paths it saw.
func r28aStrictES(fake http.Handler, prefix string, seen *[]string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.EscapedPath()
		*seen = append(*seen, p)
		rest, ok := strings.CutPrefix(p, prefix)
		if !ok || strings.Contains(rest, "//") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"no handler found for uri [` + p + `] and method [` + r.Method + `]","status":400}`))
			return
		}
		http.StripPrefix(prefix, fake).ServeHTTP(w, r)
	})
}

// TestR28aSearchUnderURLWithTrailingSlash: the sink takes a URL with a
// trailing slash, and a path prefix with one (http://host/es/), sending
// its requests as /es/_bulk; the query API's search over the same
// stores.elasticsearch.url must reach the same cluster. It sends
// //tickets/_search (base + "/" + alias), which Elasticsearch refuses:
// no handler found for uri [//tickets/_search].
func TestR28aSearchUnderURLWithTrailingSlash(t *testing.T) {
	for _, c := range []struct{ name, prefix, suffix string }{
		{"host with trailing slash", "", "/"},
		{"path prefix with trailing slash", "/es", "/es/"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fake := esfake.New()
			fake.Start()
			t.Cleanup(fake.Close)
			var seen []string
			strict := httptest.NewServer(r28aStrictES(fake, c.prefix, &seen))
			t.Cleanup(strict.Close)

			pool, pgURL := testenv.Postgres(t)
			ctx := context.Background()
			if _, err := pool.Exec(ctx, `CREATE TABLE tickets (id bigint PRIMARY KEY, status text, note text, score integer, urgent boolean)`); err != nil {
				t.Fatal(err)
			}
			env := map[string]string{"ES": strict.URL + c.suffix, "PG": pgURL}
			cfg, err := config.Parse("tickets.yaml", []byte(ticketsYAML), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
			if err != nil {
				t.Fatal(err)
			}
			plan, err := projections.Compile(cfg)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Kafka.Brokers = nil
			s, err := New(ctx, cfg, plan, Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			props, err := esProperties(plan)
			if err != nil {
				t.Fatal(err)
			}
			esDo(t, fake.URL(), http.MethodPut, "/tickets", mustJSON(map[string]any{"mappings": map[string]any{"properties": props["tickets"]}}))
			esDo(t, fake.URL(), http.MethodPost, "/_bulk?refresh=true",
				[]byte(`{"index":{"_index":"tickets","_id":"1"}}`+"\n"+`{"id":1,"status":"open","note":"a","score":1,"urgent":false}`+"\n"))

			p, _ := url.ParseQuery("q=status:open")
			res, err := s.Search(ctx, "tickets", p)
			if err != nil {
				t.Fatalf("search with stores.elasticsearch.url %q: %v (paths sent: %q)", env["ES"], err, seen)
			}
			if len(res.Docs) != 1 {
				t.Errorf("search found %d docs, want 1", len(res.Docs))
			}
			if err := s.RefreshSearch(ctx, "tickets"); err != nil {
				t.Errorf("refresh with stores.elasticsearch.url %q: %v (paths sent: %q)", env["ES"], err, seen)
			}
		})
	}
}
