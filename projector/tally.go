package projector

// Metrics counted while work that may be retried runs, and added once it
// took effect: a state transaction that PostgreSQL aborts and retryTx runs
// again, a batch the consumer projects again after a failure, or decodes
// again after a schema registry outage, counts only the attempt that went
// through.

// tally is what a state transaction counts for the metrics, added to them
// once it commits: a transaction retried (a serialization failure, a
// deadlock between instances) or failed counts nothing.
type tally struct {
	sources    []sourceTally // by source, in plan order
	exprErrors int
}

type sourceTally struct {
	changed        bool // the batch has changes of the source
	applied, stale int
}

// count adds t to the metrics.
func (e *Engine) count(t *tally) {
	for i, n := range t.sources {
		if n.changed {
			name := e.plan.Sources[i].Name
			e.metrics.applied.WithLabelValues(name).Add(float64(n.applied))
			e.metrics.stale.WithLabelValues(name).Add(float64(n.stale))
		}
	}
	if t.exprErrors > 0 {
		e.metrics.exprErrors.Add(float64(t.exprErrors))
	}
}

// ignored counts, by source and kind, the records a decode took that change
// no row.
type ignored []ignoredCount

type ignoredCount struct {
	source, kind string
	n            int
}

func (ig *ignored) add(source, kind string) {
	if ig == nil {
		return
	}
	for i := range *ig {
		if c := &(*ig)[i]; c.source == source && c.kind == kind {
			c.n++
			return
		}
	}
	*ig = append(*ig, ignoredCount{source: source, kind: kind, n: 1})
}

// countIgnored adds ig to the metrics.
func (e *Engine) countIgnored(ig ignored) {
	for _, c := range ig {
		e.metrics.ignored.WithLabelValues(c.source, c.kind).Add(float64(c.n))
	}
}
