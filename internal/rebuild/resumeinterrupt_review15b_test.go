package rebuild

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/sinks/elasticsearch/esfake"
)

// TestR15bInterruptedResumeOfDroppedFailedGenerationOrphansTargets: a
// failed generation whose targets were dropped (its grace period over) is
// resumed, and the resume is interrupted (Ctrl-C) right after it created
// the new targets. The registry still says the targets are dropped while
// they exist: `generations` shows "dropped", no daemon ever drops them,
// and once the operator gives up on that generation and rebuilds anew, the
// table item_view__g2 and the index items-g2 stay forever.
func TestR15bInterruptedResumeOfDroppedFailedGenerationOrphansTargets(t *testing.T) {
	es := esfake.New()
	es.Start()
	t.Cleanup(es.Close)
	target, _ := url.Parse(es.URL())
	var onCreate atomic.Value // func()
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(res *http.Response) error {
		if res.Request.Method == http.MethodPut && res.Request.URL.Path == "/items-g2" {
			if fn, ok := onCreate.Load().(func()); ok && fn != nil {
				fn()
			}
		}
		return nil
	}
	front := httptest.NewServer(proxy)
	t.Cleanup(front.Close)

	f := newFixtureWith(t, "", front.URL)
	d := f.startDaemon()
	source := f.seed(d, 1, 20)
	env := f.openEnv()
	ctx := context.Background()

	lose := func(ctx context.Context, g registry.Generation) error {
		_, err := f.pool.Exec(ctx, `DELETE FROM public.item_view__g2 WHERE id = 9`)
		return err
	}
	if _, err := Run(ctx, env, Options{View: "item_view", Keep: 0, VerifyTimeout: 200 * time.Millisecond, afterFill: lose}); !errors.Is(err, ErrMismatch) {
		t.Fatalf("rebuild with a lost document: %v, want a mismatch", err)
	}
	// Its grace period (keep 0) is over: a daemon drops its targets, once
	// every instance stopped writing them.
	snap, err := env.Registry.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the daemon to apply the failure", 10*time.Second, func() bool { return d.watcher.Applied() >= snap.Version })
	if err := env.dropExpired(ctx, "item_view", time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if f.tableExists("item_view__g2") {
		t.Fatalf("the failed generation's table was not dropped")
	}

	// --resume, interrupted once it created the new targets.
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var once sync.Once
	onCreate.Store(func() { once.Do(cancel) })
	_, err = Resume(rctx, env, Options{View: "item_view", Keep: 0})
	onCreate.Store(func() {})
	if err == nil {
		t.Fatalf("the interrupted resume succeeded")
	}

	snap, serr := env.Registry.Snapshot(ctx)
	if serr != nil {
		t.Fatal(serr)
	}
	g, _ := snap.Get("item_view", 2)
	if f.tableExists("item_view__g2") && slices.Contains(g.Dropped, "postgres") {
		t.Errorf("after the interrupted resume (%v) table item_view__g2 exists, but the registry (and `generations`) say generation 2 (%s) has its postgres target dropped: %v",
			err, g.State, g.Dropped)
	}

	// The operator rebuilds anew rather than resume: generation 3.
	if _, err := Run(ctx, env, Options{View: "item_view", Keep: 0}); err != nil {
		t.Fatalf("new rebuild: %v", err)
	}
	if err := env.dropExpired(ctx, "item_view", time.Now().Add(365*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if f.tableExists("item_view__g2") {
		t.Errorf("table item_view__g2 of failed generation 2 is never dropped (orphan)")
	}
	if got := esGet(t, es.URL()+"/items-g2"); !strings.Contains(got, "index_not_found_exception") {
		t.Errorf("index items-g2 of failed generation 2 is never dropped (orphan)")
	}
	f.wantDocs(source)
}
