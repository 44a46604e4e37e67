package rebuild

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/sinks/elasticsearch/esfake"
)

// TestRenamedIndexGetsTheDaemonsLiveChanges: README, "another Redis key or
// Elasticsearch index alone does not stop it" (a rebuild while the daemons
// still run the file before the view's elasticsearch index was renamed),
// and "every running projector run writes live changes into the
// generation being built". The rebuild builds products-g2 (its file's
// name, recorded in the registry as the generation's target): the daemons
// write generation 2 there, not to items-g2 (their own file's name), an
// index Elasticsearch would create on the fly, that no alias points to and
// no registry row records. A change made during the build is behind the
// alias after the swap.
func TestRenamedIndexGetsTheDaemonsLiveChanges(t *testing.T) {
	es := esfake.New()
	es.Start()
	t.Cleanup(es.Close)
	f := newFixtureWith(t, "", es.URL())
	d := f.startDaemon() // the file before the rename: index items
	f.seed(d, 1, 10)
	ctx := context.Background()

	env := renamedIndexEnv(t, f, es.URL())

	// A live change while the generation is being built.
	during := func(ctx context.Context, _ registry.Generation) error {
		return d.apply(ctx, map[int64]*item{5: {Name: "changed-during-rebuild", Qty: 55}})
	}
	_, err := Run(ctx, env, Options{View: "item_view", Keep: time.Hour, Verify: VerifyFull, VerifyTimeout: 3 * time.Second, afterFill: during})
	if err != nil {
		// Refusing the rebuild, or its swap, is a fix too; readers then
		// stay on the served generation.
		if !errors.Is(err, ErrOtherDefinition) && !errors.Is(err, ErrMismatch) {
			t.Fatalf("rebuild: %v", err)
		}
		return
	}
	esGet(t, es.URL()+"/products/_refresh")
	got := esGet(t, es.URL()+"/products/_doc/5")
	if !strings.Contains(got, "changed-during-rebuild") {
		t.Errorf("after the swap, readers of alias products get document 5 as it was before a change made during the rebuild: %s", got)
	}
	if stray := esGet(t, es.URL()+"/items-g2/_doc/5"); strings.Contains(stray, `"found":true`) {
		t.Errorf("the daemon wrote the change to items-g2, an index no alias points to and the registry does not record: %s", stray)
	}
}

// renamedIndexEnv opens the rebuild environment of the fixture's file with
// the view's index renamed from items to products.
func renamedIndexEnv(t *testing.T, f *fixture, esURL string) *Env {
	t.Helper()
	vars := map[string]string{"PG": f.cfg.Stores.Postgres.URL, "REDIS": f.cfg.Stores.Redis.URL, "PREFIX": f.prefix, "ES": esURL}
	yaml := strings.Replace(itemsYAML, "index: items", "index: products", 1)
	cfg, err := config.Parse("test.yaml", []byte(yaml), func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	env, err := Open(context.Background(), cfg, plan, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	return env
}
