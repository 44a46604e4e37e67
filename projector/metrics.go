package projector

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the engine's Prometheus collectors.
type Metrics struct {
	consumed       *prometheus.CounterVec
	applied        *prometheus.CounterVec
	stale          *prometheus.CounterVec
	ignored        *prometheus.CounterVec
	deadLetters    *prometheus.CounterVec
	docsWritten    *prometheus.CounterVec
	docsRefused    *prometheus.CounterVec
	sinkErrors     *prometheus.CounterVec
	sinkSeconds    *prometheus.HistogramVec
	batchSeconds   prometheus.Histogram
	exprErrors     prometheus.Counter
	lag            *prometheus.GaugeVec
	tombstones     *prometheus.CounterVec
	revisions      prometheus.Counter
	sinkTombstones *prometheus.CounterVec
	refreshed      *prometheus.CounterVec
	lastRefresh    *prometheus.GaugeVec
}

// NewMetrics creates the collectors and registers them with reg (nil: a
// private registry, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &Metrics{
		consumed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "projector_records_consumed_total", Help: "Kafka records consumed.",
		}, []string{"topic"}),
		applied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "projector_changes_applied_total", Help: "Changes applied to the state.",
		}, []string{"source"}),
		stale: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "projector_changes_stale_total", Help: "Changes skipped because the state holds a newer position.",
		}, []string{"source"}),
		ignored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "projector_records_ignored_total", Help: "Records that change no row (tombstones, transaction markers, heartbeats).",
		}, []string{"source", "kind"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "projector_dead_letters_total", Help: "Records sent to the dead-letter topic.",
		}, []string{"topic"}),
		docsWritten: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "projector_docs_written_total", Help: "View documents acknowledged by a sink.",
		}, []string{"sink"}),
		docsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "projector_docs_refused_total", Help: "View documents a sink refused as they are, set aside to the dead-letter topic.",
		}, []string{"sink", "view"}),
		sinkErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "projector_sink_errors_total", Help: "Failed sink writes (each retried).",
		}, []string{"sink"}),
		sinkSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "projector_sink_write_seconds", Help: "Latency of one sink batch write.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"sink"}),
		batchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "projector_batch_seconds", Help: "Time to project one batch, state to sinks.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}),
		exprErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "projector_expression_errors_total", Help: "Expression evaluations that failed at run time (the field is null).",
		}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "projector_consumer_lag", Help: "Records between the committed position and the partition's high watermark.",
		}, []string{"topic", "partition"}),
		tombstones: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "projector_state_tombstones_collected_total", Help: "Tombstones of deleted rows removed from the state after state.tombstone_retention.",
		}, []string{"source"}),
		revisions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "projector_revisions_collected_total", Help: "Revisions of deleted documents removed after state.tombstone_retention.",
		}),
		sinkTombstones: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "projector_sink_tombstones_purged_total", Help: "Tombstones of deleted documents removed from a store after state.tombstone_retention.",
		}, []string{"sink"}),
		refreshed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "projector_refresh_docs_total", Help: "Documents recomputed and written by the refreshes of views that declare refresh.",
		}, []string{"view"}),
		lastRefresh: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "projector_refresh_last_completed_timestamp_seconds", Help: "When this instance last completed a refresh of the view (Unix time).",
		}, []string{"view"}),
	}
	reg.MustRegister(m.refreshed, m.lastRefresh, m.revisions, m.sinkTombstones, m.consumed, m.applied, m.stale, m.ignored, m.deadLetters, m.docsWritten, m.docsRefused,
		m.sinkErrors, m.sinkSeconds, m.batchSeconds, m.exprErrors, m.lag, m.tombstones)
	return m
}

// health remembers the last error of each sink and of the consumer, for
// /readyz: by component (a sink, "state", "engine") and by who reported it,
// so that one loop's success does not clear a problem another loop still
// has (the batch being written and the one being prepared retry apart).
type health struct {
	mu   sync.Mutex
	errs map[healthKey]error
}

type healthKey struct{ component, reporter string }

func newHealth() *health { return &health{errs: map[healthKey]error{}} }

func (h *health) set(component string, err error) { h.report(component, "", err) }

func (h *health) report(component, reporter string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := healthKey{component, reporter}
	if err == nil {
		delete(h.errs, k)
	} else {
		h.errs[k] = err
	}
}

// Problems returns what keeps the engine from being ready: component → error
// (PublicCause's words: readiness is read by anyone reaching the admin
// port), the engine's own writes' before a check's.
func (e *Engine) Problems() map[string]string {
	e.health.mu.Lock()
	defer e.health.mu.Unlock()
	keys := slices.SortedFunc(maps.Keys(e.health.errs), func(a, b healthKey) int {
		return cmp.Or(strings.Compare(a.component, b.component), strings.Compare(a.reporter, b.reporter))
	})
	out := map[string]string{}
	for _, k := range keys {
		if _, ok := out[k.component]; !ok {
			out[k.component] = PublicCause(e.health.errs[k]).Error()
		}
	}
	for sink, d := range e.writing.stuck(time.Now()) {
		if _, ok := out[sink]; !ok {
			out[sink] = fmt.Sprintf("a write has been under way for %s, holding the batches (the log says more)", d.Round(time.Second))
		}
	}
	return out
}

// ReportHealth records what a check from outside the engine found about a
// component of Problems (a sink's name, "state"): err, or nil once it
// answers again. It is kept apart from what the engine's own writes report,
// so a check that succeeds never clears a write that still fails.
func (e *Engine) ReportHealth(component string, err error) {
	e.health.report(component, "check", err)
}
