package query_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/projectorhq/projector/internal/query"
)

// TestR33hAbandonedRequestCountedAsSuccess: README "Operations": with
// `run --serve` (and serve) the API exports
// projector_query_requests_total{endpoint,code}. A request whose client
// goes away before the answer (a read-your-writes wait it gave up on, a
// timeout of a load balancer) gets no answer at all: writeError
// (handlers.go) returns without writing when the request's context was
// cancelled, and instrument (metrics.go) then records the status it never
// sent as 200. Such requests, the ones an operator most needs to see (a
// position never reached, stores too slow for the clients' patience),
// are counted as successes, with their full latency in the 200s'
// histogram. A careful API records them under a code of their own
// (nginx's 499 "client closed request") or at least not as 200.
func TestR33hAbandonedRequestCountedAsSuccess(t *testing.T) {
	s := newShop(t, shopOptions{})
	fill(s)
	reg := prometheus.NewRegistry()
	api, err := query.New(context.Background(), s.cfg, s.plan, query.Options{Registerer: reg, KafkaTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	closed := make(chan struct{}, 1)
	started := make(chan struct{}, 1)
	h := api.Handler()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		h.ServeHTTP(w, r)
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateClosed { // after the handler returned
			select {
			case closed <- struct{}{}:
			default:
			}
		}
	}
	srv.Start()
	defer srv.Close()

	// A position far ahead: the server waits (up to 30s) for it.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-started; cancel() }() // the client gives up once the server is at it
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		srv.URL+"/v1/views/orders/docs/1?wait=30s&min_position=orders:FFFFFFF/0", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err == nil {
		res.Body.Close()
		t.Fatalf("the request was answered (%d) before the client went away", res.StatusCode)
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("request: %v", err)
	}
	select {
	case <-closed:
	case <-time.After(40 * time.Second):
		t.Fatal("the server never finished the abandoned request")
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		if mf.GetName() != "projector_query_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["endpoint"] == "get" {
				t.Logf("projector_query_requests_total%v = %v", labels, m.GetCounter().GetValue())
				if labels["code"] == "200" {
					t.Errorf("a request the client abandoned, answered nothing, is counted as code=\"200\"")
				}
			}
		}
	}
}
