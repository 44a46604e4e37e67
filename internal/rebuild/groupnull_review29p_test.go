package rebuild

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/projectorhq/projector/projector"
)

// R29pPairsYAML is a view grouped by two columns over the items.
const R29pPairsYAML = `
version: 1
kafka: { brokers: "localhost:1", group: items }
stores:
  postgres: { url: "${PG}" }
sources:
  items:
    topic: shop.public.items
    key: id
    columns: { id: bigint, name: text, qty: bigint }
views:
  pair_view:
    from: items
    group_by: [name, qty]
    fields:
      name: name
      qty: qty
      rows: { agg: count }
    sinks:
      postgres: { table: pair_view }
`

// TestR29pGroupByPairDocsTotalLeavesNullsOut: README, "DOCS, like the
// progress and the log's docs, counts documents: for a group_by view, its
// groups", and estimate's own comment: "Rows whose group key is null
// belong to no group: count(DISTINCT) leaves them out, as the listing of
// groups does". For a view grouped by two columns, a row with one of them
// null is in no group (the listing skips it), but the estimate counts
// jsonb_build_array(NULL, x)::text, which is not null: the generation's
// docs total (progress bar, metric, DOCS) says more documents than the
// fill ever makes, so the progress never reaches 100%.
func TestR29pGroupByPairDocsTotalLeavesNullsOut(t *testing.T) {
	f := newFixtureYAML(t, R29pPairsYAML, "", "")
	d := f.startDaemon()
	var recs []projector.Record
	for id := int64(1); id <= 12; id++ {
		var name any = []string{"a", "b"}[id%2]
		if id > 8 {
			name = nil // rows 9..12: name null, in no group
		}
		ev := map[string]any{
			"source": map[string]any{"version": "2.7.3.Final", "connector": "postgresql", "name": "shop",
				"ts_ms": 1790710562903, "snapshot": "false", "db": "shop", "schema": "public", "table": "items",
				"txId": 1000 + id*8, "lsn": 1000 + id*8},
			"transaction": nil, "ts_ms": 1790710563391, "op": "c", "before": nil,
			"after": map[string]any{"id": id, "name": name, "qty": id % 3},
		}
		b, _ := json.Marshal(ev)
		recs = append(recs, projector.Record{Topic: "shop.public.items", Offset: id, Key: fmt.Appendf(nil, `{"id":%d}`, id), Value: b})
	}
	if err := d.process(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	env := f.openEnv()
	res, err := Run(context.Background(), env, Options{View: "pair_view", Keep: 0})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := env.Registry.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	g, _ := snap.Get("pair_view", res.Generation)
	if g.DocsTotal != res.Filled || g.DocsDone != res.Filled {
		t.Errorf("view grouped by two columns, with rows whose name is null (in no group): docs total %d, done %d, filled %d; want the total to be the groups filled", g.DocsTotal, g.DocsDone, res.Filled)
	}
}
