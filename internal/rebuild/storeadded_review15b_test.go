package rebuild

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/projectorhq/projector/sinks/elasticsearch/esfake"
)

// TestR15bStoreAddedAfterRebuildOrphansServedIndex: a view served from
// PostgreSQL and Redis is rebuilt once; then Elasticsearch is turned on for
// it. The daemons create and serve generation 1's index (items-g1, behind
// the alias). The next rebuild, with --keep 0, replaces it in every store:
// README "The replaced generation is dropped after rebuild.keep (... `0s`
// drops it at the swap)". items-g1 must be gone, and while it still served,
// `generations` must have named elasticsearch at some generation (SERVING
// "names the stores whose readers see a generation").
func TestR15bStoreAddedAfterRebuildOrphansServedIndex(t *testing.T) {
	es := esfake.New()
	es.Start()
	t.Cleanup(es.Close)
	f := newFixtureWith(t, "", es.URL())
	url := f.cfg.Stores.Elasticsearch.URL
	f.cfg.Stores.Elasticsearch.URL = "" // Elasticsearch not configured yet
	d := f.startDaemon()
	source := f.seed(d, 1, 20)
	ctx := context.Background()

	env := f.openEnv()
	if _, err := Run(ctx, env, Options{View: "item_view", Keep: 0}); err != nil {
		t.Fatalf("first rebuild (postgres, redis): %v", err)
	}
	d.stop()

	// Elasticsearch is turned on; the daemon restarts with it.
	f.cfg.Stores.Elasticsearch.URL = url
	d2 := f.startDaemon()
	if got := esGet(t, es.URL()+"/_alias/items"); !strings.Contains(got, `"items-g1"`) {
		t.Fatalf("alias after the daemon started with elasticsearch: %s", got)
	}
	env2 := f.openEnv()
	snap, err := env2.Registry.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	named := false
	for _, g := range snap.Of("item_view") {
		if g.Has("elasticsearch") && snap.Serving("item_view", "elasticsearch") == g.Number {
			named = true
		}
	}
	if !named {
		t.Errorf("readers search items-g1 through alias items, but no generation of the registry is serving elasticsearch (SERVING names it nowhere): %+v", snap.Of("item_view"))
	}

	res, err := Run(ctx, env2, Options{View: "item_view", Keep: 0})
	if err != nil {
		t.Fatalf("rebuild with elasticsearch: %v", err)
	}
	if got := esGet(t, es.URL()+"/_alias/items"); !strings.Contains(got, `"items-g3"`) {
		t.Fatalf("alias after the rebuild: %s", got)
	}
	if got := esGet(t, es.URL()+"/items-g1"); !strings.Contains(got, "index_not_found_exception") {
		t.Errorf("rebuild %+v with --keep 0 replaced items-g1 (elasticsearch generation %d) but it is still there, and no later drop knows it: %.200s",
			res, res.Replaced["elasticsearch"], got)
	}
	// Nothing will drop it later either.
	if err := env2.dropExpired(ctx, "item_view", time.Now().Add(365*24*time.Hour)); err != nil {
		t.Fatalf("drop expired: %v", err)
	}
	if got := esGet(t, es.URL()+"/items-g1"); !strings.Contains(got, "index_not_found_exception") {
		t.Errorf("items-g1 survives the drop of every expired generation")
	}
	_ = d2
	f.wantDocs(source)
}
