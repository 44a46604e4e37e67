package stack

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/sinks/elasticsearch/esfake"
)

// TestElasticsearchDownAtStart: Elasticsearch answering 503 at start is an
// outage like any later, as a Redis down at start is: the daemon starts,
// elasticsearch is not ready, and the first write waits until the cluster
// answers, then puts the templates, index and alias before the document
// (written before them, it would make Elasticsearch create the alias's
// name as an index with guessed mappings).
func TestElasticsearchDownAtStart(t *testing.T) {
	gate, up, refused := downElasticsearch(t)
	cfg, plan := esItemsPlan(t, gate.URL)
	st, err := Wire(context.Background(), cfg, plan, nil)
	if err != nil {
		t.Fatalf("Wire with Elasticsearch down: %v, want a start", err)
	}
	defer st.Close()
	if p := st.Engine.Problems()["elasticsearch"]; p == "" {
		t.Errorf("problems after a start with Elasticsearch down: %v, want elasticsearch", st.Engine.Problems())
	}

	for len(refused) > 0 {
		<-refused // Wire's
	}
	done := make(chan error, 1)
	go func() {
		done <- st.Engine.ProcessChanges(context.Background(), "items", []debezium.Change{{
			Kind: debezium.KindChange, Op: debezium.OpCreate, Position: debezium.Position{Hi: 10},
			Key: map[string]any{"id": json.Number("1")}, After: map[string]any{"id": json.Number("1"), "name": "widget"},
		}})
	}()
	// The write is retried while the cluster is down; once it answers, the
	// sink is set up and the document written.
	select {
	case <-refused:
	case err := <-done:
		t.Fatalf("the write returned (%v) while Elasticsearch was down", err)
	}
	up.Store(true)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	get := func(path string) string {
		resp, err := http.Get(gate.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := get("/_alias/items"); !strings.Contains(got, `"items-g1"`) {
		t.Errorf("alias items: %s, want it on items-g1 (set up before the write)", got)
	}
	if got := get("/items/_doc/1"); !strings.Contains(got, `"widget"`) {
		t.Errorf("document 1 through the alias: %s", got)
	}
}

// downElasticsearch is esfake behind a gate that answers 503 (no master)
// until up is set; refused gets a value for each request it refused.
func downElasticsearch(t *testing.T) (gate *httptest.Server, up *atomic.Bool, refused chan struct{}) {
	fake := esfake.New()
	up = new(atomic.Bool)
	refused = make(chan struct{}, 64)
	gate = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			select {
			case refused <- struct{}{}:
			default:
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"error":{"type":"master_not_discovered_exception","reason":"no master"},"status":503}`)
			return
		}
		fake.ServeHTTP(w, r)
	}))
	t.Cleanup(gate.Close)
	return gate, up, refused
}
