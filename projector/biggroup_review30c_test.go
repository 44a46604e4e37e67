package projector_test

// Review 30c (aggregations): a kept group computed again from all its rows
// (its min or max left it, it was last computed more than 10 minutes ago,
// or its definition changed) reads every row of the group into memory at
// once (groupsFromRows → rowsByColumn with no limit), so a one-row change
// costs heap in proportion to the group's size: hundreds of MB for a few
// hundred thousand rows, and a daemon that runs out of memory (then crash-
// loops on the same batch) for a group of millions. The README bounds what
// a batch holds by the batch size, not by how many rows a change reaches,
// and the adverse tests hold one changed row of a group_by view to 64 MB.

import (
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

const r30cBigGroupYAML = `
sources:
  orders:
    topic: t.public.orders
    key: id
    columns: { id: bigint, user_id: bigint, status: text, amount: bigint, note: text }
views:
  status_stats:
    from: orders
    group_by: status
    fields:
      status: status
      orders: { agg: count }
      revenue: { agg: sum, of: amount }
      top: { agg: max, of: amount }
    sinks:
      postgres: { table: status_stats }
`

// TestR30cMaxLeavingHugeGroupBoundedHeap: 200,001 orders in one group, the
// one holding the group's max amount is updated to a small amount. The
// document must be right (max 996 of the rest) and the batch of that one
// record must not take more than 64 MB of heap.
func TestR30cMaxLeavingHugeGroupBoundedHeap(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, advHead+r30cBigGroupYAML, env("PG", "postgres://unused", "REDIS", "", "PREFIX", "x:"))
	vs := newViewSink()
	r := &advRig{t: t, eng: newEngine(t, pool, plan, vs, nil), lsn: 100, batch: 10_000}
	const rows = 200_000
	recs := make([]projector.Record, 0, rows+1)
	for id := 1; id <= rows; id++ {
		recs = append(recs, r.rec("orders", "r", map[string]any{"id": id, "user_id": id % 1000, "status": "paid", "amount": id % 997}))
	}
	recs = append(recs, r.rec("orders", "r", map[string]any{"id": rows + 1, "user_id": 1, "status": "paid", "amount": 1_000_000}))
	r.process(recs)

	p := r.measure([]projector.Record{r.rec("orders", "u", map[string]any{"id": rows + 1, "user_id": 1, "status": "paid", "amount": 5})})
	t.Logf("the max leaving a group of %d rows: %s", rows+1, p)

	vs.mu.Lock()
	d := vs.docs["status_stats/paid"]
	vs.mu.Unlock()
	if got := canonical(t, d.Fields); got != `{"orders":200001,"revenue":99481505,"status":"paid","top":996}` {
		t.Errorf("status_stats/paid = %s", got)
	}
	if p.peakMB() > 64 {
		t.Errorf("one changed row (the group's max leaving it) of a group of %d rows: peak heap +%.1f MB (> 64 MB): "+
			"the group is computed again from all its rows held in memory at once", rows+1, p.peakMB())
	}
}
