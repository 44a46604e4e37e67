package stack

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/sinks/elasticsearch/esfake"
)

// downGate serves fake through a gate answering 503 while up is false.
func downGate(t *testing.T) (gate *httptest.Server, up *atomic.Bool) {
	t.Helper()
	fake := esfake.New()
	up = new(atomic.Bool)
	gate = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"error":{"type":"master_not_discovered_exception","reason":"no master"},"status":503}`)
			return
		}
		fake.ServeHTTP(w, r)
	}))
	t.Cleanup(gate.Close)
	return gate, up
}

func esPing(t *testing.T, st *Stack) error {
	t.Helper()
	for _, p := range st.probes {
		if slices.Contains(p.components, registry.StoreElasticsearch) {
			return p.ping(context.Background())
		}
	}
	t.Fatal("no elasticsearch probe")
	return nil
}

// TestAliasAheadRefusedOnceElasticsearchAnswers: readers search items-g2,
// unknown to the registry, and Elasticsearch did not answer at start. Once
// it answers, the setup before the first write refuses as a start would,
// creating nothing, and the probe says why even with no write; once the
// registry knows generation 2 (a rebuild registered it meanwhile), the
// setup goes ahead.
func TestAliasAheadRefusedOnceElasticsearchAnswers(t *testing.T) {
	ctx := context.Background()
	gate, up := downGate(t)
	up.Store(true)
	for _, req := range []struct{ method, path, body string }{
		{http.MethodPut, "/items-g2", ""},
		{http.MethodPost, "/_aliases", `{"actions":[{"add":{"index":"items-g2","alias":"items"}}]}`},
	} {
		r, _ := http.NewRequest(req.method, gate.URL+req.path, strings.NewReader(req.body))
		r.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(r)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %v %v", req.method, req.path, resp, err)
		}
		resp.Body.Close()
	}
	cfg, plan := esItemsPlan(t, gate.URL)
	up.Store(false)
	st, err := Wire(ctx, cfg, plan, nil)
	if err != nil {
		t.Fatalf("Wire with Elasticsearch down: %v, want a start", err)
	}
	defer st.Close()
	up.Store(true)

	if err := esPing(t, st); err == nil || !strings.Contains(err.Error(), "generation 2") {
		t.Errorf("elasticsearch probe with readers on an unknown generation 2: %v, want the refusal", err)
	}
	if err := st.ElasticsearchSetUp("item_view", 1)(ctx); err == nil || !strings.Contains(err.Error(), "generation 2") {
		t.Errorf("setup before the first write: %v, want the refusal", err)
	}
	resp, err := http.Get(gate.URL + "/items-g1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /items-g1 after the refusal: %d, want 404 (nothing created)", resp.StatusCode)
	}

	reg := registry.New(st.Pool, cfg.Stores.Postgres.Schema)
	g := registry.Generation{View: "item_view", Number: 2, Source: registry.SourceState, Stores: []string{registry.StoreElasticsearch},
		Targets: map[string]string{registry.StoreElasticsearch: "items-g2"}}
	initial := registry.Generation{Stores: []string{registry.StoreElasticsearch}, Targets: map[string]string{registry.StoreElasticsearch: "items-g1"}}
	if _, err := reg.Register(ctx, g, initial); err != nil {
		t.Fatal(err)
	}
	if err := st.ElasticsearchSetUp("item_view", 1)(ctx); err != nil {
		t.Errorf("setup once the registry knows generation 2: %v", err)
	}
	if err := esPing(t, st); err != nil {
		t.Errorf("elasticsearch probe once set up: %v", err)
	}
}

// TestHungElasticsearchStartsUnready: an Elasticsearch that accepts
// connections and never answers is an outage at start: Wire returns, and
// elasticsearch is not ready.
func TestHungElasticsearchStartsUnready(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hung := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				close(hung)
				return
			}
			hung <- c // held open, never answered
		}
	}()
	defer func() {
		l.Close()
		for c := range hung {
			c.Close()
		}
	}()
	cfg, plan := esItemsPlan(t, "http://"+l.Addr().String())
	st, err := Wire(context.Background(), cfg, plan, nil)
	if err != nil {
		t.Fatalf("Wire with a hung Elasticsearch: %v, want a start", err)
	}
	defer st.Close()
	if p := st.Engine.Problems()[registry.StoreElasticsearch]; p == "" {
		t.Errorf("problems after a start with a hung Elasticsearch: %v, want elasticsearch", st.Engine.Problems())
	}
}
