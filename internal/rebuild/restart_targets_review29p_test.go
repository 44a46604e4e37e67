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

// r29pRename makes the fixture's file (and the daemons') replace old by
// new, and returns a daemon running it, from where d got.
func r29pRename(t *testing.T, f *fixture, d *daemon, esURL, old, new string) (*daemon, *Env) {
	t.Helper()
	d.stop()
	vars := map[string]string{"PG": f.cfg.Stores.Postgres.URL, "REDIS": f.cfg.Stores.Redis.URL, "PREFIX": f.prefix, "ES": esURL}
	cfg, err := config.Parse("test.yaml", []byte(strings.Replace(itemsYAML, old, new, 1)), func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
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
	return d, f.openEnv()
}

// esLose deletes document 4 from index, behind the rebuild's back.
func esLose(esURL, index string) func(context.Context, registry.Generation) error {
	return func(ctx context.Context, _ registry.Generation) error {
		body := `{"delete":{"_index":"` + index + `","_id":"4"}}` + "\n"
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, esURL+"/_bulk?refresh=true", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-ndjson")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		return res.Body.Close()
	}
}

// TestR29pAbortAfterResumeWithRenamedIndexDropsIt: README, "--resume of a
// failed generation builds it again in new targets". A resume with the
// index renamed (items → products) that fails again leaves products-g2,
// the index it created and filled; --abort drops it, not only items-g2.
func TestR29pAbortAfterResumeWithRenamedIndexDropsIt(t *testing.T) {
	es := esfake.New()
	es.Start()
	t.Cleanup(es.Close)
	f := newFixtureWith(t, "", es.URL())
	d := f.startDaemon()
	f.seed(d, 1, 10)
	ctx := context.Background()
	env := f.openEnv()
	if _, err := Run(ctx, env, Options{View: "item_view", Keep: time.Hour, VerifyTimeout: 300 * time.Millisecond, afterFill: esLose(es.URL(), "items-g2")}); !errors.Is(err, ErrMismatch) {
		t.Fatalf("rebuild with a document lost in the new index: %v, want a mismatch", err)
	}
	_, renamed := r29pRename(t, f, d, es.URL(), "index: items", "index: products")
	if _, err := Resume(ctx, renamed, Options{View: "item_view", Keep: time.Hour, VerifyTimeout: 300 * time.Millisecond, afterFill: esLose(es.URL(), "products-g2")}); !errors.Is(err, ErrMismatch) {
		t.Fatalf("resume with a document lost in the renamed index: %v, want a mismatch", err)
	}
	if _, err := Abort(ctx, renamed, "item_view", 0); err != nil {
		t.Fatal(err)
	}
	for _, index := range []string{"items-g2", "products-g2"} {
		if got := esGet(t, es.URL()+"/"+index); !strings.Contains(got, "index_not_found_exception") {
			t.Errorf("after --abort, index %s of the aborted generation is left: %s", index, got)
		}
	}
}

// TestR29pResumeFailedAfterTableRename: the same as
// TestR29pResumeFailedAfterIndexRename for the PostgreSQL table: a resume
// with the view's table renamed (item_view → products) records the table
// it creates and fills as the generation's target.
func TestR29pResumeFailedAfterTableRename(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	f.seed(d, 1, 10)
	ctx := context.Background()
	env := f.openEnv()
	lose := func(ctx context.Context, _ registry.Generation) error {
		_, err := f.pool.Exec(ctx, `DELETE FROM public.item_view__g2 WHERE id = 4`)
		return err
	}
	if _, err := Run(ctx, env, Options{View: "item_view", Keep: time.Hour, VerifyTimeout: 300 * time.Millisecond, afterFill: lose}); !errors.Is(err, ErrMismatch) {
		t.Fatalf("rebuild with a row lost in the new table: %v, want a mismatch", err)
	}
	d, renamed := r29pRename(t, f, d, "", "table: item_view", "table: products")
	during := func(ctx context.Context, _ registry.Generation) error {
		return d.apply(ctx, map[int64]*item{5: {Name: "changed-during-resume", Qty: 55}})
	}
	if _, err := Resume(ctx, renamed, Options{View: "item_view", Keep: time.Hour, VerifyTimeout: 3 * time.Second, afterFill: during}); err != nil {
		t.Fatalf("resume of the failed generation with the renamed table: %v", err)
	}
	snap, err := renamed.Registry.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if g, _ := snap.Get("item_view", 2); g.Targets[registry.StorePostgres] != `"public"."products__g2"` {
		t.Errorf("registry records generation 2's table as %s, want \"public\".\"products__g2\" (the table the resume created and filled)", g.Targets[registry.StorePostgres])
	}
	var name string
	if err := f.pool.QueryRow(ctx, `SELECT name FROM public.products WHERE id = 5`).Scan(&name); err != nil || name != "changed-during-resume" {
		t.Errorf("readers of products get document 5 as %q (%v), want the change made during the resume", name, err)
	}
}
