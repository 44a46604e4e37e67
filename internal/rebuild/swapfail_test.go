package rebuild

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/sinks/elasticsearch/esfake"
)

// aliasProxy sits in front of the Elasticsearch fake and lets a test act
// on POST /_aliases requests.
type aliasProxy struct {
	srv *httptest.Server
	// onAliases, when set, handles a POST /_aliases; forward sends it on.
	onAliases atomic.Pointer[func(w http.ResponseWriter, r *http.Request, forward func(http.ResponseWriter, *http.Request))]
}

func newAliasProxy(t *testing.T, backend string) *aliasProxy {
	t.Helper()
	u, err := url.Parse(backend)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	p := &aliasProxy{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/_aliases" {
			if h := p.onAliases.Load(); h != nil {
				(*h)(w, r, rp.ServeHTTP)
				return
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *aliasProxy) set(h func(w http.ResponseWriter, r *http.Request, forward func(http.ResponseWriter, *http.Request))) {
	if h == nil {
		p.onAliases.Store(nil)
		return
	}
	p.onAliases.Store(&h)
}

// forwardTo sends r to the backend and returns the answer's status.
func forwardTo(forward func(http.ResponseWriter, *http.Request), r *http.Request) int {
	rec := httptest.NewRecorder()
	forward(rec, r.WithContext(context.WithoutCancel(r.Context())))
	_, _ = io.Copy(io.Discard, rec.Body)
	return rec.Code
}

// TestInterruptedAliasSwapLeavesReadersOnServedGeneration: the
// rebuild is interrupted while its _aliases request is in flight, after
// Elasticsearch applied it (the answer is lost). The run ends with an
// error that is not ErrPartialSwap ("interrupted; readers still see the
// served generation"), so the alias must be back on the served index.
func TestInterruptedAliasSwapLeavesReadersOnServedGeneration(t *testing.T) {
	es := esfake.New()
	es.Start()
	t.Cleanup(es.Close)
	proxy := newAliasProxy(t, es.URL())
	f := newFixtureWith(t, "", proxy.srv.URL)
	d := f.startDaemon()
	f.seed(d, 1, 30)
	env := f.openEnv()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	proxy.set(func(w http.ResponseWriter, r *http.Request, forward func(http.ResponseWriter, *http.Request)) {
		first := false
		once.Do(func() { first = true })
		if !first {
			forward(w, r)
			return
		}
		forwardTo(forward, r) // Elasticsearch applies the swap ...
		cancel()              // ... and the operator presses Ctrl-C before the answer arrives
		<-r.Context().Done()
	})
	_, err := Run(ctx, env, Options{View: "item_view", Keep: time.Hour})
	proxy.set(nil)
	if err == nil {
		t.Fatal("rebuild interrupted during the alias swap succeeded")
	}
	if errors.Is(err, ErrPartialSwap) {
		t.Skipf("reported as a partial swap: %v", err)
	}
	snap, serr := env.Registry.Snapshot(context.Background())
	if serr != nil {
		t.Fatal(serr)
	}
	served := snap.Serving("item_view", registry.StoreElasticsearch)
	got := esGet(t, es.URL()+"/_alias/items")
	if served != 1 || !strings.Contains(got, `"items-g1"`) || strings.Contains(got, `"items-g2"`) {
		t.Errorf("after an interrupted rebuild (%v) the registry serves elasticsearch generation %d but the alias is %s; want readers on items-g1", err, served, got)
	}
}

// TestFailedVerificationAfterPartialSwapPointsReadersBack: a swap
// moved the alias to generation 2, the registry refused to record it and
// the alias could not be moved back (ErrPartialSwap). --resume verifies
// again and finds a document missing: the generation fails and the daemons
// stop writing it. Readers must not be left on it.
func TestFailedVerificationAfterPartialSwapPointsReadersBack(t *testing.T) {
	es := esfake.New()
	es.Start()
	t.Cleanup(es.Close)
	proxy := newAliasProxy(t, es.URL())
	f := newFixtureWith(t, "", proxy.srv.URL)
	d := f.startDaemon()
	f.seed(d, 1, 30)
	env := f.openEnv()
	bg := context.Background()

	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	var (
		swapped atomic.Bool
		lockTx  pgx.Tx
		lockErr error
	)
	proxy.set(func(w http.ResponseWriter, r *http.Request, forward func(http.ResponseWriter, *http.Request)) {
		if swapped.Load() {
			// The move back fails.
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"error":{"type":"cluster_block_exception","reason":"blocked"},"status":503}`)
			return
		}
		// The swap reaches Elasticsearch; the registry row is held so that
		// the run's registry swap waits, and the run is then interrupted.
		lockTx, lockErr = f.pool.Begin(bg)
		if lockErr == nil {
			_, lockErr = lockTx.Exec(bg, `SELECT version FROM projector.registry FOR UPDATE`)
		}
		swapped.Store(true)
		forward(w, r)
	})
	errc := make(chan error, 1)
	go func() {
		_, err := Run(ctx, env, Options{View: "item_view", Keep: time.Hour})
		errc <- err
	}()
	waitFor(t, "the alias swap", 20*time.Second, swapped.Load)
	if lockErr != nil {
		t.Fatal(lockErr)
	}
	waitFor(t, "the registry swap to wait for the lock", 20*time.Second, func() bool {
		var n int
		_ = f.pool.QueryRow(bg, `SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database() AND query LIKE 'UPDATE%registry%'`).Scan(&n)
		return n > 0
	})
	cancel()
	err := <-errc
	_ = lockTx.Rollback(bg)
	if !errors.Is(err, ErrPartialSwap) {
		t.Fatalf("rebuild: %v, want ErrPartialSwap", err)
	}
	proxy.set(nil)
	if got := esGet(t, es.URL()+"/_alias/items"); !strings.Contains(got, `"items-g2"`) {
		t.Fatalf("alias after the partial swap: %s", got)
	}

	// A write to generation 2 is lost meanwhile.
	body := `{"delete":{"_index":"items-g2","_id":"9"}}` + "\n"
	req, _ := http.NewRequest(http.MethodPost, es.URL()+"/_bulk?refresh=true", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-ndjson")
	res, herr := http.DefaultClient.Do(req)
	if herr != nil {
		t.Fatal(herr)
	}
	res.Body.Close()

	_, err = Resume(bg, env, Options{View: "item_view", VerifyTimeout: 300 * time.Millisecond})
	if !errors.Is(err, ErrMismatch) {
		t.Fatalf("resume: %v, want ErrMismatch", err)
	}
	snap, _ := env.Registry.Snapshot(bg)
	g, _ := snap.Get("item_view", 2)
	got := esGet(t, es.URL()+"/_alias/items")
	if strings.Contains(got, `"items-g2"`) {
		t.Errorf("generation 2 is %s (the daemons no longer write it) yet the alias readers search is still on it: %s", g.State, got)
	}
	// "--resume of a failed generation builds it again in new targets."
	if _, err := Resume(bg, env, Options{View: "item_view", VerifyTimeout: 5 * time.Second}); err != nil {
		t.Errorf("second resume of the failed generation: %v", err)
	}
}
