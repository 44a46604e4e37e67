package projector_test

// Review 30m (memory that grows with data): a TRUNCATE of a source rooting
// an aggregation view marks every group its rows leave to be computed again
// (groupOps.redo, groupagg.go), keeping for each group the whole old row
// that left it, across all the chunks of the truncate; then updateGroups
// reads, recomputes, saves and caches every one of them at once (groupAggs
// of all ids, groupsFromRows with all ids as one lookup, saveGroupAggs of
// all). The README says "a truncate of millions of rows holds one chunk of
// them at once" and that the truncate "holds an entry per such group (not
// per row)": for a view grouped by a column of many values (per-user
// stats, the usual shape) that is one entry per row, and the truncate of a
// table holds the whole table's groups at once.

import (
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

const r30mTruncGroupsYAML = `
sources:
  orders_few:
    topic: t.public.orders_few
    key: id
    columns: { id: bigint, user_id: bigint, status: text, amount: bigint }
  orders_many:
    topic: t.public.orders_many
    key: id
    columns: { id: bigint, user_id: bigint, status: text, amount: bigint }
views:
  few_stats:
    from: orders_few
    group_by: user_id
    fields:
      user_id: user_id
      orders: { agg: count }
      revenue: { agg: sum, of: amount }
    sinks:
      postgres: { table: few_stats }
  many_stats:
    from: orders_many
    group_by: user_id
    fields:
      user_id: user_id
      orders: { agg: count }
      revenue: { agg: sum, of: amount }
    sinks:
      postgres: { table: many_stats }
`

// TestR30mTruncateManyGroupsBoundedHeap: two tables of 50,000 orders, one
// of 100 users, the other of 50,000 (one order each), each rooting a view
// grouped by user; each is truncated in a batch of one record, deleted
// 1,000 rows at a time (ChunkDocs). The same rows, the same chunks: the
// peak heap of the second may exceed the first by what a chunk of groups
// costs (a few MB), not by what the table's 50,000 groups cost.
func TestR30mTruncateManyGroupsBoundedHeap(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, advHead+r30mTruncGroupsYAML, env("PG", "postgres://unused", "REDIS", "", "PREFIX", "x:"))
	s := &countSink{}
	eng, err := projector.New(projector.Options{Plan: plan, Pool: pool, ChunkDocs: 1000,
		Sinks: []projector.Route{{Sink: s, Views: []string{"few_stats", "many_stats"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	r := &advRig{t: t, eng: eng, lsn: 100, batch: 10_000}
	const n = 50_000
	var recs []projector.Record
	for i := 1; i <= n; i++ {
		recs = append(recs, r.rec("orders_few", "r", map[string]any{"id": i, "user_id": i % 100, "status": "paid", "amount": i}))
		recs = append(recs, r.rec("orders_many", "r", map[string]any{"id": i, "user_id": i, "status": "paid", "amount": i}))
	}
	r.process(recs)
	recs = nil

	truncate := func(table string) projector.Record {
		r.lsn += 10
		r.offset++
		return projector.Record{Topic: "t.public." + table, Offset: r.offset, Value: envelope(table, "t", nil, nil, r.lsn)}
	}
	few := r.measure([]projector.Record{truncate("orders_few")})
	t.Logf("truncate of %d orders of 100 users: %s", n, few)
	many := r.measure([]projector.Record{truncate("orders_many")})
	t.Logf("truncate of %d orders of %d users: %s", n, n, many)

	var left int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM projector.state_orders_many WHERE NOT deleted`).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d live orders after the truncate", left)
	}
	if extra := many.peakMB() - few.peakMB(); extra > 16 {
		t.Errorf("truncate of %d rows in as many groups: peak heap +%.1f MB, +%.1f MB over the same rows in 100 groups (> 16 MB; a chunk of 1,000 groups costs about 1 MB): "+
			"every group the truncate's rows leave is held, with a row, until the batch recomputes them all at once", n, many.peakMB(), extra)
	}
}
