package rebuild

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

	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/sinks/elasticsearch/esfake"
)

// TestR26aLateSetupMakesDroppedIndexAgain: a daemon starts while
// Elasticsearch answers 503, so its setup (template, items-g1, alias) is
// put off until its first write (stack/essetup.go). The cluster comes
// back, and before any change reaches the daemon a rebuild with --keep 0s
// builds generation 2, swaps the alias to items-g2 and records generation
// 1's index dropped. The daemon's first write then runs the setup it put
// off (guard.before) with the generations it read at start: it creates
// items-g1, an index the registry records as dropped and nothing ever
// drops again.
func TestR26aLateSetupMakesDroppedIndexAgain(t *testing.T) {
	fake := esfake.New()
	var up atomic.Bool
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
	f := newFixtureWith(t, "", gate.URL)
	d := f.startDaemon()
	up.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	env := f.openEnv()
	res, err := Run(ctx, env, Options{View: "item_view", Keep: 0, WaitTimeout: 20 * time.Second})
	if err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	if res.Generation != 2 {
		t.Fatalf("rebuild built generation %d, want 2", res.Generation)
	}
	snap, err := env.Registry.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	g1, ok := snap.Get("item_view", 1)
	if !ok || !slices.Contains(g1.Dropped, registry.StoreElasticsearch) {
		t.Fatalf("generation 1's index not recorded dropped by the rebuild: %+v", g1)
	}

	if err := d.apply(ctx, map[int64]*item{1: {Name: "widget", Qty: 1}}); err != nil {
		t.Fatal(err)
	}
	if got := esGet(t, gate.URL+"/items/_doc/1"); !strings.Contains(got, `"widget"`) {
		t.Errorf("GET /items/_doc/1 (through the alias): %.200s, want item 1", got)
	}
	if got := esGet(t, gate.URL+"/items-g1"); !strings.Contains(got, "index_not_found_exception") {
		t.Errorf("items-g1, which the registry records as dropped, exists again after the daemon's first write: %.160s", got)
	}
}
