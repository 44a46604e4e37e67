package query_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/query"
)

// TestReview30kSearchMinPositionRefreshStorm: a search with min_position
// refreshes the view's index after the wait (README: "the index is
// refreshed after the wait, so the search sees the write"). It refreshes
// for every such request, even when the position was projected long before
// and nothing was written since: any reader may put min_position=orders:0/0
// on every search and so send Elasticsearch one _refresh per request — the
// per-request refresh Elasticsearch's documentation warns costs indexing
// and search throughput (each refresh makes a new segment). A position
// already visible at the last refresh needs none; concurrent waits can
// share one.
func TestReview30kSearchMinPositionRefreshStorm(t *testing.T) {
	s := newShop(t, shopOptions{})
	fill(s)

	// The query server of the shop, reading Elasticsearch through a proxy
	// that counts the _refresh requests it sends.
	target, _ := url.Parse(s.es.URL())
	var refreshes atomic.Int64
	proxy := httputil.NewSingleHostReverseProxy(target)
	counting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/_refresh") {
			refreshes.Add(1)
		}
		proxy.ServeHTTP(w, r)
	}))
	defer counting.Close()
	qcfg := *s.cfg
	qcfg.Stores.Elasticsearch.URL = counting.URL
	api, err := query.New(context.Background(), &qcfg, s.plan, query.Options{KafkaTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	h := httptest.NewServer(api.Handler())
	defer h.Close()

	const n = 20
	path := "/v1/views/orders/search?min_position=orders:0/0&wait=0s"
	for range n {
		st, body := call(t, h.URL, path)
		mustStatus(t, path, st, http.StatusOK, body)
	}
	if got := refreshes.Load(); got > 1 {
		t.Errorf("%d searches with min_position=orders:0/0, nothing written meanwhile: %d _refresh requests sent to Elasticsearch; want at most 1", n, got)
	}
}
