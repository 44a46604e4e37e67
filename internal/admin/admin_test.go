package admin

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestListenBeforeMetrics: a process binds the admin listener before its
// metrics exist: /healthz answers, /readyz says what the readiness says,
// /metrics is empty until SetGatherer, then serves them.
func TestListenBeforeMetrics(t *testing.T) {
	ready := map[string]string{"projector": "starting"}
	srv, err := Listen("127.0.0.1:0", nil, func() map[string]string { return ready }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()
	defer func() {
		_ = srv.Shutdown(context.Background())
		if err := <-served; err != nil {
			t.Error(err)
		}
	}()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + srv.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d", code)
	}
	if code, body := get("/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "starting") {
		t.Errorf("/readyz = %d %s", code, body)
	}
	if code, body := get("/metrics"); code != http.StatusOK || body != "" {
		t.Errorf("/metrics before SetGatherer = %d %q, want 200 and nothing", code, body)
	}
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "admin_test_total", Help: "A test counter."})
	reg.MustRegister(c)
	c.Inc()
	srv.SetGatherer(reg)
	if code, body := get("/metrics"); code != http.StatusOK || !strings.Contains(body, "admin_test_total 1") {
		t.Errorf("/metrics = %d %q", code, body)
	}
}
