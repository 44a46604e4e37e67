package rebuild

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/projectorhq/projector/internal/rebuild/registry"
)

// collector exposes the registry as the watcher last read it: the progress
// of every rebuild under way (the CLI records it in the registry) and the
// generation each view serves. It reads no database at scrape time.
type collector struct {
	w        *Watcher
	done     *prometheus.Desc
	total    *prometheus.Desc
	building *prometheus.Desc
	serving  *prometheus.Desc
	version  *prometheus.Desc
}

func newCollector(w *Watcher) *collector {
	return &collector{
		w: w,
		done: prometheus.NewDesc("projector_rebuild_docs_done",
			"Documents a rebuild under way has filled so far.", []string{"view", "generation"}, nil),
		total: prometheus.NewDesc("projector_rebuild_docs_total",
			"Documents a rebuild under way expects to fill (an estimate taken at its start).", []string{"view", "generation"}, nil),
		building: prometheus.NewDesc("projector_rebuild_in_progress",
			"1 for each generation being built or verified, by state.", []string{"view", "generation", "state"}, nil),
		serving: prometheus.NewDesc("projector_view_generation",
			"The generation of a view that readers see, by store.", []string{"view", "store"}, nil),
		version: prometheus.NewDesc("projector_registry_version_applied",
			"The registry version this instance's routes follow.", nil, nil),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.done
	ch <- c.total
	ch <- c.building
	ch <- c.serving
	ch <- c.version
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	c.w.mu.Lock()
	snap, routed := c.w.snap, c.w.routed
	c.w.mu.Unlock()
	ch <- gauge(c.version, prometheus.GaugeValue, float64(routed))
	for _, g := range snap.Generations {
		if !g.State.Written() {
			continue
		}
		n := strconv.Itoa(g.Number)
		ch <- gauge(c.done, prometheus.GaugeValue, float64(g.DocsDone), g.View, n)
		ch <- gauge(c.total, prometheus.GaugeValue, float64(g.DocsTotal), g.View, n)
		ch <- gauge(c.building, prometheus.GaugeValue, 1, g.View, n, string(g.State))
	}
	for _, v := range c.w.env.Plan.Views {
		for _, store := range c.w.env.Stores(v.Name) {
			if store == registry.StoreRedis {
				continue
			}
			ch <- gauge(c.serving, prometheus.GaugeValue, float64(snap.Serving(v.Name, store)), v.Name, store)
		}
	}
}

// gauge builds a constant gauge; a label count mismatch (a bug) shows as an
// invalid metric in the scrape instead of a panic.
func gauge(desc *prometheus.Desc, _ prometheus.ValueType, v float64, labels ...string) prometheus.Metric {
	m, err := prometheus.NewConstMetric(desc, prometheus.GaugeValue, v, labels...)
	if err != nil {
		return prometheus.NewInvalidMetric(desc, err)
	}
	return m
}
