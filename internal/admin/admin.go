// Package admin serves projector's operational HTTP endpoints: /metrics
// (Prometheus), /healthz (the process is alive) and /readyz (it consumes and
// every store answers).
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Readiness reports what keeps the process from being ready: component →
// problem. Empty means ready.
type Readiness func() map[string]string

// Server is the admin HTTP server.
type Server struct {
	srv     *http.Server
	ln      net.Listener
	metrics atomic.Pointer[http.Handler]
}

// Listen binds addr and prepares the handlers. A process binds it before
// it starts (a start-up can take long: migrations, index builds), so that
// /healthz answers all along; gatherer may be nil until SetGatherer, and
// /metrics is empty meanwhile.
func Listen(addr string, gatherer prometheus.Gatherer, ready Readiness, log *slog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{ln: ln}
	if gatherer != nil {
		s.SetGatherer(gatherer)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		if h := s.metrics.Load(); h != nil {
			(*h).ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		problems := ready()
		if len(problems) > 0 {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "problems": problems})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": "ready"})
	})
	// Scrapers and probes ask small questions: bounded reads and writes,
	// and idle connections closed, so that clients that keep them open
	// (or never finish a request) do not pile them up.
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	return s, nil
}

// SetGatherer makes /metrics serve what gatherer collects.
func (s *Server) SetGatherer(gatherer prometheus.Gatherer) {
	h := promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{})
	s.metrics.Store(&h)
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Serve serves until Shutdown.
func (s *Server) Serve() error {
	if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Shutdown stops the server, waiting for requests in flight.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
