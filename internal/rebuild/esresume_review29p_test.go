package rebuild

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/sinks/elasticsearch/esfake"
)

// TestR29pResumeFailedAfterIndexRename: README, "--resume of a failed
// generation builds it again in new targets", and "another ... Elasticsearch
// index alone does not stop [a rebuild]". A rebuild refused by its
// verification leaves generation 2 failed, recorded with target items-g2.
// The operator then renames the view's index (items → products) and runs
// --resume with that file. The resumed rebuild creates products-g2 and
// fills it, but the registry still names items-g2 as the generation's
// target: the verification checks items-g2 (dropped by the restart), the
// daemons write the generation's live changes there, and the swap moves an
// alias onto an index that is not the one filled. The resume must succeed
// and readers of the (new) alias must get the documents.
func TestR29pResumeFailedAfterIndexRename(t *testing.T) {
	es := esfake.New()
	es.Start()
	t.Cleanup(es.Close)
	f := newFixtureWith(t, "", es.URL())
	d := f.startDaemon()
	f.seed(d, 1, 10)
	ctx := context.Background()
	env := f.openEnv()

	lose := func(ctx context.Context, g registry.Generation) error {
		body := `{"delete":{"_index":"items-g2","_id":"4"}}` + "\n"
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, es.URL()+"/_bulk?refresh=true", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-ndjson")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		return res.Body.Close()
	}
	if _, err := Run(ctx, env, Options{View: "item_view", Keep: time.Hour, VerifyTimeout: 300 * time.Millisecond, afterFill: lose}); !errors.Is(err, ErrMismatch) {
		t.Fatalf("rebuild with a document lost in the new index: %v, want a mismatch", err)
	}

	// The file renames the index; the daemons run it too.
	d.stop()
	vars := map[string]string{"PG": f.cfg.Stores.Postgres.URL, "REDIS": f.cfg.Stores.Redis.URL, "PREFIX": f.prefix, "ES": es.URL()}
	yaml := strings.Replace(itemsYAML, "index: items", "index: products", 1)
	cfg, err := config.Parse("test.yaml", []byte(yaml), func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	lsn, offset := d.lsn, d.offset
	f.cfg, f.plan = cfg, plan
	d = f.startDaemon()
	d.lsn, d.offset = lsn, offset
	renamed := f.openEnv()

	during := func(ctx context.Context, _ registry.Generation) error {
		return d.apply(ctx, map[int64]*item{5: {Name: "changed-during-resume", Qty: 55}})
	}
	res, err := Resume(ctx, renamed, Options{View: "item_view", Keep: time.Hour, VerifyTimeout: 3 * time.Second, afterFill: during})
	if err != nil {
		t.Fatalf("resume of the failed generation with the renamed index: %v", err)
	}
	if res.Generation != 2 {
		t.Errorf("resume made generation %d active, want 2", res.Generation)
	}
	snap, err := renamed.Registry.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if g, _ := snap.Get("item_view", 2); g.Targets[registry.StoreElasticsearch] != "products-g2" {
		t.Errorf("registry records generation 2's index as %q, want products-g2 (the index the resume created and filled)", g.Targets[registry.StoreElasticsearch])
	}
	esGet(t, es.URL()+"/products/_refresh")
	if got := esGet(t, es.URL()+"/products/_doc/5"); !strings.Contains(got, "changed-during-resume") {
		t.Errorf("readers of alias products miss a change made during the resume: %s", got)
	}
	if got := esGet(t, es.URL()+"/products/_doc/7"); !strings.Contains(got, `"found":true`) {
		t.Errorf("readers of alias products miss document 7: %s", got)
	}
}
