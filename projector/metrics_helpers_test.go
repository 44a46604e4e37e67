package projector_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/projectorhq/projector/projector"
)

// metricValue returns the value of the series of name whose labels include
// labels, and whether it exists.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue series
				}
			}
			return sampleValue(m), true
		}
	}
	return 0, false
}

func sampleValue(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	return 0
}

// metricSeries lists the label sets of name's series.
func metricSeries(t *testing.T, reg *prometheus.Registry, name string) []map[string]string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			out = append(out, got)
		}
	}
	return out
}

func widgetEngine(t *testing.T, pgURL string, s projector.Sink, reg *prometheus.Registry, log *slog.Logger, backoff time.Duration) *projector.Engine {
	t.Helper()
	_, plan := loadPlan(t, widgetsYAML, env("BROKERS", "127.0.0.1:1", "PG", pgURL, "REDIS", "redis://unused", "PREFIX", ""))
	var views []string
	for _, v := range plan.Views {
		views = append(views, v.Name)
	}
	pool := must(pgxpool.New(context.Background(), pgURL))
	t.Cleanup(pool.Close)
	eng, err := projector.New(projector.Options{Plan: plan, Pool: pool, Sinks: []projector.Route{{Sink: s, Views: views}},
		Metrics: projector.NewMetrics(reg), Logger: log, MaxBackoff: backoff})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return eng
}

func widgetChange(t *testing.T, id string) projector.Record {
	t.Helper()
	r := widgetRecord(id, sample(t, "postgres/create_schemaless.value.json", func(m map[string]any) {
		m["after"] = map[string]any{"id": id, "name": "widget " + id, "active": true}
	}))
	return projector.Record{Topic: r.Topic, Key: r.Key, Value: r.Value}
}
