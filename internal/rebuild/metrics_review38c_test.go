package rebuild

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks/elasticsearch/esfake"
)

// r38cCodesYAML is a view keyed by text, in PostgreSQL, Redis and
// Elasticsearch.
const r38cCodesYAML = `
version: 1
kafka: { brokers: "${BROKERS:-localhost:1}", group: codes }
stores:
  postgres: { url: "${PG}" }
  redis: { url: "${REDIS}" }
  elasticsearch: { url: "${ES:-}" }
sources:
  codes:
    topic: shop.public.codes
    key: code
    columns: { code: text, qty: bigint }
views:
  code_view:
    from: codes
    fields: { code: code, qty: qty }
    sinks:
      postgres: { table: code_view }
      redis: { key: "${PREFIX}code:{code}" }
      elasticsearch: { index: codes }
`

// r38cCode is a Debezium create of a codes row.
func r38cCode(code string, qty, lsn, offset int64) projector.Record {
	ev := map[string]any{
		"source": map[string]any{"version": "2.7.3.Final", "connector": "postgresql", "name": "shop",
			"ts_ms": 1790710562903, "snapshot": "false", "db": "shop", "schema": "public", "table": "codes",
			"txId": lsn, "lsn": lsn},
		"op": "c", "before": nil, "after": map[string]any{"code": code, "qty": qty},
		"transaction": nil, "ts_ms": 1790710563391,
	}
	v, _ := json.Marshal(ev)
	k, _ := json.Marshal(map[string]any{"code": code})
	return projector.Record{Topic: "shop.public.codes", Offset: offset, Key: k, Value: v}
}

func r38cCounter(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
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
			total += m.GetCounter().GetValue()
		}
	}
	return total
}

// TestR38cRefusedDocCountedOnceDuringRebuild: README (Operations)
// counts projector_docs_refused_total{sink,view} "once per doc set
// aside", and a refused document is logged at error once and sent to the
// dead-letter topic once. While a rebuild builds the next generation, the
// daemon writes each live change to both generations of the store (two
// routes, both named "elasticsearch"): a document the store refuses is
// refused by both, and counted (and logged, and, from the consumer,
// dead-lettered) twice under the same sink and view, as if two documents
// had been set aside. Likewise projector_docs_written_total{sink} counts
// each live document once per generation: its rate doubles for the
// duration of every rebuild.
func TestR38cRefusedDocCountedOnceDuringRebuild(t *testing.T) {
	es := esfake.New()
	es.Start()
	t.Cleanup(es.Close)
	f := newFixtureYAML(t, r38cCodesYAML, "", es.URL())
	d := f.startDaemon()
	reg := d.st.Registry
	ctx := context.Background()
	var lsn, offset atomic.Int64
	lsn.Store(1000)
	apply := func(code string) {
		t.Helper()
		rec := r38cCode(code, 1, lsn.Add(8), offset.Add(1))
		d.mu.Lock()
		defer d.mu.Unlock()
		if _, err := d.st.Engine.Process(ctx, []projector.Record{rec}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []string{"a", "b", "c"} {
		apply(c)
	}
	long := strings.Repeat("x", 600) // over Elasticsearch's 512-byte _id limit: refused there, written elsewhere
	refused := map[string]string{"sink": "elasticsearch", "view": "code_view"}
	written := map[string]string{"sink": "postgres"}

	apply(long + "-before")
	if got := r38cCounter(t, reg, "projector_docs_refused_total", refused); got != 1 {
		t.Fatalf("one refused doc before any rebuild counts %v", got)
	}

	var refusedDuring, writtenDuring float64
	during := func(ctx context.Context, _ registry.Generation) error {
		r0 := r38cCounter(t, reg, "projector_docs_refused_total", refused)
		w0 := r38cCounter(t, reg, "projector_docs_written_total", written)
		apply(long + "-during")
		apply("d")
		refusedDuring = r38cCounter(t, reg, "projector_docs_refused_total", refused) - r0
		writtenDuring = r38cCounter(t, reg, "projector_docs_written_total", written) - w0
		return nil
	}
	env := f.openEnv()
	_, _ = Run(ctx, env, Options{View: "code_view", Keep: time.Hour, VerifyTimeout: 300 * time.Millisecond, afterFill: during})

	if refusedDuring != 1 {
		t.Errorf("one document refused by Elasticsearch during a rebuild: projector_docs_refused_total{sink=elasticsearch,view=code_view} grew by %v, want 1", refusedDuring)
	}
	if writtenDuring != 2 {
		t.Errorf("two documents written to PostgreSQL during a rebuild: projector_docs_written_total{sink=postgres} grew by %v, want 2", writtenDuring)
	}
}
