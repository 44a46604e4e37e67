package query_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/projectorhq/projector/internal/query"
)

// TestRefusedHostCounted: an open API refuses a request addressed to
// another host (DNS rebinding) with 403, and counts it in
// projector_query_requests_total as it counts any other refusal.
func TestRefusedHostCounted(t *testing.T) {
	s := newShop(t, shopOptions{}) // no tokens: the open, loopback-only API
	reg := prometheus.NewRegistry()
	api, err := query.New(context.Background(), s.cfg, s.plan, query.Options{Registerer: reg, KafkaTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	srv := httptest.NewServer(api.Handler())
	defer srv.Close()
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/v1/views", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "rebind.attacker.example"
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d, want 403", res.StatusCode)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var got float64
	for _, mf := range families {
		if mf.GetName() != "projector_query_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["endpoint"] == "other" && labels["code"] == "403" {
				got += m.GetCounter().GetValue()
			}
		}
	}
	if got != 1 {
		t.Errorf(`projector_query_requests_total{endpoint="other",code="403"} = %v, want 1`, got)
	}
}
