package stack

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/sinks/elasticsearch/esfake"
)

// TestElasticsearchIndexDeletedNoticed: someone deletes the served index
// (Elasticsearch drops its alias with it) under a running daemon. The next
// write auto-creates the index without the alias, so readers of the alias
// find nothing; the store probe (GET /_alias) read the 404 as "no indices"
// and readiness stayed green. An alias on no index now fails the probe,
// naming the rebuild that repairs it.
func TestElasticsearchIndexDeletedNoticed(t *testing.T) {
	fake := esfake.New()
	fake.Start()
	defer fake.Close()
	cfg, plan := esItemsPlan(t, fake.URL())
	st, err := Wire(context.Background(), cfg, plan, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	write := func(id, pos int64, name string) {
		t.Helper()
		n := json.Number(strconv.FormatInt(id, 10))
		if err := st.Engine.ProcessChanges(context.Background(), "items", []debezium.Change{{
			Kind: debezium.KindChange, Op: debezium.OpCreate, Position: debezium.Position{Hi: pos},
			Key: map[string]any{"id": n}, After: map[string]any{"id": n, "name": name},
		}}); err != nil {
			t.Fatal(err)
		}
	}
	write(1, 10, "one")
	write(2, 20, "two")
	do := func(method, path string) (int, string) {
		req, _ := http.NewRequest(method, fake.URL()+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := do(http.MethodDelete, "/items-g1"); code != 200 {
		t.Fatalf("delete index: %d %s", code, body)
	}
	write(2, 30, "two-v2") // a later change: lands in an auto-created items-g1
	var esErr error
	for _, p := range st.probes {
		if slices.Contains(p.components, "elasticsearch") {
			esErr = p.ping(context.Background())
		}
	}
	if esErr == nil || !strings.Contains(esErr.Error(), "rebuild item_view --sinks es") {
		t.Errorf("the alias readers use is gone, yet the elasticsearch probe says %v", esErr)
	}
}

// esItemsPlan is a configuration of one view into Elasticsearch (alias
// items) on a fresh query PostgreSQL.
func esItemsPlan(t *testing.T, esURL string) (*config.Config, *projections.Plan) {
	t.Helper()
	_, pgURL := testenv.Postgres(t)
	cfg, err := config.Parse("wire.yaml", []byte(`
version: 1
kafka: { brokers: "127.0.0.1:9" }
stores:
  postgres: { url: "${PG}" }
  elasticsearch: { url: "${ES}" }
sources:
  items: { topic: t.public.items, key: id, columns: { id: bigint, name: text } }
views:
  item_view:
    from: items
    fields: { id: id, name: name }
    sinks:
      elasticsearch: { index: items }
`), func(k string) (string, bool) { return map[string]string{"PG": pgURL, "ES": esURL}[k], true })
	if err != nil {
		t.Fatal(err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, plan
}

// TestAliasAheadOfTheRegistryRefused: readers search generation 2 through
// the alias while the registry (lost, or restored from an older backup)
// knows only 1: a start wrote into a new items-g1 behind no alias, and
// readers froze. It refuses, naming both, and leaves the alias.
func TestAliasAheadOfTheRegistryRefused(t *testing.T) {
	fake := esfake.New()
	fake.Start()
	defer fake.Close()
	for _, req := range []struct{ method, path, body string }{
		{http.MethodPut, "/items-g2", ""},
		{http.MethodPost, "/_aliases", `{"actions":[{"add":{"index":"items-g2","alias":"items"}}]}`},
	} {
		r, _ := http.NewRequest(req.method, fake.URL()+req.path, strings.NewReader(req.body))
		r.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(r)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %v %v", req.method, req.path, resp, err)
		}
		resp.Body.Close()
	}
	cfg, plan := esItemsPlan(t, fake.URL())
	st, err := Wire(context.Background(), cfg, plan, nil)
	if err == nil {
		st.Close()
		t.Fatal("a start with readers on a generation the registry does not know: no error")
	}
	if !strings.Contains(err.Error(), "generation 2") {
		t.Errorf("the refusal does not name the readers' generation: %v", err)
	}
	resp, err := http.Get(fake.URL() + "/_alias/items")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), "items-g2") || strings.Contains(string(body), "items-g1") {
		t.Errorf("alias after the refusal: %s, want it on items-g2 only", body)
	}
}
