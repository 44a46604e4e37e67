package rebuild

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/projectorhq/projector/sinks/elasticsearch/esfake"
)

// TestR23aDaemonSetsUpElasticsearchDownAtStart: a daemon (stack.Wire then
// Watch, as `projector run` does) started while Elasticsearch answers 503
// puts the index template, index and alias before its first write once the
// cluster answers (stack/essetup.go), so readers of the alias find the
// document.
func TestR23aDaemonSetsUpElasticsearchDownAtStart(t *testing.T) {
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
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.apply(ctx, map[int64]*item{1: {Name: "widget", Qty: 1}}); err != nil {
		t.Fatal(err)
	}
	if got := esGet(t, gate.URL+"/_alias/items"); !strings.Contains(got, `"items-g1"`) {
		t.Errorf("GET /_alias/items after the daemon's first write: %s, want the alias on items-g1 (set up before the write)", got)
	}
	if got := esGet(t, gate.URL+"/items/_doc/1"); !strings.Contains(got, `"widget"`) {
		t.Errorf("GET /items/_doc/1 (through the alias): %s, want item 1", got)
	}
}
