package stack

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/projectorhq/projector/sinks/elasticsearch"
	"github.com/projectorhq/projector/sinks/elasticsearch/esfake"
)

// TestR29dIndexDeletedThenStartWhileElasticsearchDown: the served index
// items-g1 is deleted (its alias with it) while the daemon is stopped, and
// the daemon then starts while Elasticsearch does not answer yet (a
// cluster restarted with the deploy). README (Data lost by a store): a
// deleted index makes elasticsearch unready at every start until the
// rebuild, and a start "neither puts the alias on a new, empty index".
// markLostAliases cannot look while the cluster is down and counts the
// view as aliased; setUpFirst's Setup, once the cluster answers, creates
// an empty items-g1 and puts the alias on it: readers see only the
// documents written since, and readiness is green.
func TestR29dIndexDeletedThenStartWhileElasticsearchDown(t *testing.T) {
	ctx := context.Background()
	fake := esfake.New()
	var up atomic.Bool
	up.Store(true)
	gate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"error":{"type":"master_not_discovered_exception","reason":"no master"},"status":503}`)
			return
		}
		fake.ServeHTTP(w, r)
	}))
	defer gate.Close()
	cfg, plan := esItemsPlan(t, gate.URL)

	st, err := Wire(ctx, cfg, plan, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"one", "two"} {
		if err := st.Engine.ProcessChanges(ctx, "items", r19eChange(int64(i+1), int64(10*(i+1)), name)); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	req, _ := http.NewRequest(http.MethodDelete, gate.URL+"/items-g1", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("delete items-g1: %d", res.StatusCode)
	}

	up.Store(false)
	st2, err := Wire(ctx, cfg, plan, nil)
	if err != nil {
		t.Logf("start refused: %v", err)
		return
	}
	defer st2.Close()
	up.Store(true)

	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := st2.Engine.ProcessChanges(wctx, "items", r19eChange(3, 30, "three")); err != nil {
		t.Logf("write failed (noticed): %v", err)
		return
	}
	for _, p := range st2.probes {
		if slices.Contains(p.components, "elasticsearch") {
			if err := p.ping(ctx); err != nil {
				t.Logf("probe noticed: %v", err)
				return
			}
		}
	}
	es, err := elasticsearch.New(elasticsearch.Config{URL: gate.URL}, ElasticsearchViews(plan))
	if err != nil {
		t.Fatal(err)
	}
	on, err := es.AliasIndices(ctx, "items")
	if err != nil {
		t.Fatal(err)
	}
	t.Errorf("index items-g1 deleted, then a start while Elasticsearch was down: once it answered, the alias items was put on %v, "+
		"a new index holding only the documents written since, and the elasticsearch probe passes; want no alias on it and elasticsearch unready until a rebuild", on)
}

// TestR29dAliasAheadOfRegistryStartWhileElasticsearchDown: readers search
// items-g2 through the alias while the registry (lost, or restored from an
// older backup) serves generation 1. README (Known limits): "a starting
// daemon refuses to start rather than ... write Elasticsearch behind the
// alias readers search, at an older generation than the one they read".
// With Elasticsearch not answering at start, checkAliasesBehind gives up
// silently and setUpFirst never checks again: once the cluster answers,
// the daemon creates items-g1 and writes there, behind the alias readers
// search, and nothing says so.
func TestR29dAliasAheadOfRegistryStartWhileElasticsearchDown(t *testing.T) {
	ctx := context.Background()
	fake := esfake.New()
	var up atomic.Bool
	up.Store(true)
	gate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"error":{"type":"master_not_discovered_exception","reason":"no master"},"status":503}`)
			return
		}
		fake.ServeHTTP(w, r)
	}))
	defer gate.Close()
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
		t.Logf("start refused: %v", err)
		return
	}
	defer st.Close()
	up.Store(true)
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := st.Engine.ProcessChanges(wctx, "items", r19eChange(1, 10, "one")); err != nil {
		t.Logf("write refused (noticed): %v", err)
		return
	}
	resp, err := http.Get(gate.URL + "/items-g1/_doc/1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK {
		t.Errorf("readers search items-g2 (unknown to the registry), Elasticsearch was down at start: once it answered the daemon wrote "+
			"document 1 into items-g1, behind the alias, without a word (%s); want the write refused as a start with the cluster up refuses", body)
	}
}
