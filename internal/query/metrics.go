package query

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics count the API's requests by endpoint and status, and time them.
type metrics struct {
	requests *prometheus.CounterVec
	seconds  *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "projector_query_requests_total",
			Help: "Query API requests by endpoint and HTTP status.",
		}, []string{"endpoint", "code"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "projector_query_request_seconds",
			Help:    "Query API request latency by endpoint, read-your-writes waits included.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"endpoint"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.requests, m.seconds} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("%w: metrics: %w", ErrConfig, err)
			}
		}
	}
	return m, nil
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// statusClientClosed is the code requests_total counts a request under
// whose client went away before it was answered (nginx's 499).
const statusClientClosed = 499

func (s *Server) instrument(endpoint string, h http.HandlerFunc) http.HandlerFunc {
	seconds := s.metrics.seconds.WithLabelValues(endpoint)
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h(sw, r)
		switch {
		case sw.status != 0:
		case r.Context().Err() != nil:
			// The client went away before the answer (writeError writes
			// none then): counted as nginx does, not as a success.
			sw.status = statusClientClosed
		default:
			sw.status = http.StatusOK
		}
		seconds.Observe(time.Since(start).Seconds())
		s.metrics.requests.WithLabelValues(endpoint, strconv.Itoa(sw.status)).Inc()
	}
}
