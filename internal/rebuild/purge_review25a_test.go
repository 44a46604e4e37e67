package rebuild

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/sinks/elasticsearch/esfake"
)

// r25aHoldingES serves the fake cluster and holds the first _bulk request
// that deletes from index hold until release is closed.
type r25aHoldingES struct {
	es      *esfake.Server
	hold    string
	reached chan struct{}
	release chan struct{}
	once    sync.Once
}

func (h *r25aHoldingES) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/_bulk") &&
		bytes.Contains(body, []byte(`{"delete":{"_index":"`+h.hold+`"`)) {
		first := false
		h.once.Do(func() { first = true })
		if first {
			close(h.reached)
			<-h.release
		}
	}
	h.es.ServeHTTP(w, r)
}

// TestR25aPurgeInFlightRecreatesDroppedIndex: a daemon's tombstone purge of
// the served Elasticsearch index has found its tombstones and sent their
// deletes (held in transit here) when a rebuild with --keep 0s swaps to
// generation 2. The daemon applies the swap (the guard is retired) while its
// purge is still in flight, so the rebuild drops items-g1 under it; the
// purge's external-versioned deletes then create items-g1 again, from the
// view's template: an index the registry records as dropped, which nothing
// ever drops again. Passes once a drop waits for purges in flight (or those
// never reach a dropped index).
func TestR25aPurgeInFlightRecreatesDroppedIndex(t *testing.T) {
	es := esfake.New()
	h := &r25aHoldingES{es: es, hold: "items-g1", reached: make(chan struct{}), release: make(chan struct{})}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(h.release) }) }
	t.Cleanup(release) // before ts.Close (cleanups run last in, first out)

	f := newFixtureWith(t, "", ts.URL)
	d := f.startDaemon()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	f.seed(d, 1, 20)
	if err := d.apply(ctx, map[int64]*item{3: nil, 4: nil}); err != nil {
		t.Fatal(err)
	}
	// The tombstones are stamped before the purge's cutoff (milliseconds).
	waitFor(t, "tombstones older than a millisecond", 10*time.Second, func() bool {
		esGet(t, ts.URL+"/items-g1/_refresh")
		return strings.Contains(esGet(t, ts.URL+"/items-g1/_count?q=_deleted:true"), `"count":2`)
	})
	start := time.Now()
	waitFor(t, "a millisecond", time.Second, func() bool { return time.Since(start) > 2*time.Millisecond })

	type result struct {
		n   int64
		err error
	}
	purged := make(chan result, 1)
	go func() {
		n, err := d.st.Engine.PurgeSinkTombstones(ctx, 0)
		purged <- result{n, err}
	}()
	select {
	case <-h.reached:
	case r := <-purged:
		t.Fatalf("the purge ended (%d, %v) without deleting from items-g1", r.n, r.err)
	case <-ctx.Done():
		t.Fatal("the purge never deleted from items-g1")
	}

	// The rebuild swaps to generation 2 and, with keep 0, drops generation
	// 1 once the daemon applied the swap (or leaves the drop for later,
	// should the daemon not apply it in time).
	env := f.openEnv()
	res, err := Run(ctx, env, Options{View: "item_view", Keep: 0, WaitTimeout: 3 * time.Second})
	if err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	if res.Generation != 2 {
		t.Fatalf("rebuild built generation %d, want 2", res.Generation)
	}
	droppedAtRun := strings.Contains(esGet(t, ts.URL+"/items-g1"), "index_not_found_exception")

	release()
	r := <-purged
	t.Logf("purge: %d deleted, err %v; items-g1 dropped by the rebuild itself: %v", r.n, r.err, droppedAtRun)
	// Whatever the rebuild left, the daemons drop once it is safe.
	waitFor(t, "generation 1's index to be recorded dropped", 20*time.Second, func() bool {
		if err := env.dropExpired(ctx, "item_view", time.Now()); err != nil {
			t.Logf("drop expired: %v", err)
		}
		snap, err := env.Registry.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		g, ok := snap.Get("item_view", 1)
		return ok && slices.Contains(g.Dropped, registry.StoreElasticsearch)
	})
	if got := esGet(t, ts.URL+"/items-g1"); !strings.Contains(got, "index_not_found_exception") {
		t.Errorf("items-g1, which the registry records as dropped, exists again after the daemon's purge in flight finished: %.160s", got)
	}
}
