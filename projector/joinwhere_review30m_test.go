package projector_test

// Review 30m (memory that grows with data): a one-to-many join with a
// `where` reads every joined row of the document, whole (all its columns),
// into memory at once, and only then drops those the where refuses
// (builder.load, build.go: b.tx.rowsByColumn(ctx, j.Source, l.by, nil, 0),
// then b.pass(j.Where, ...) per row). A user's `open_orders` (a handful)
// among 100,000 closed ones then costs 100,000 rows of heap each time the
// user's document is computed (any change of the user or of one of their
// orders), though the document holds a handful of items: the heap grows
// with the rows the where filters out, not with the document, and without
// bound (the README bounds a batch by its size; the previous review fixed
// the same read of a whole group with the state cursor, eachRow).

import (
	"runtime/debug"
	"testing"

	"github.com/projectorhq/projector/projector"
)

const r30mJoinWhereYAML = `
sources:
  users:
    topic: t.public.users
    key: id
    columns: { id: bigint, name: text }
  orders:
    topic: t.public.orders
    key: id
    columns: { id: bigint, user_id: bigint, status: text, amount: bigint, note: text }
views:
  user_view:
    from: users
    fields:
      id: id
      name: name
      open_orders:
        many: orders
        on: { user_id: id }
        where: 'status == "open"'
        order_by: id
        fields: { id: id, amount: amount }
    sinks:
      postgres: { table: user_view }
`

// TestR30mJoinWhereReadsFilteredRows: user 1 has 10 open orders and no
// other; user 2 has 10 open orders and 60,000 closed ones. Each user's
// name changes, one record in a batch: both documents are the same size
// (10 items), so the two batches should take about the same heap; the
// second takes the 60,000 closed orders' rows at once.
func TestR30mJoinWhereReadsFilteredRows(t *testing.T) {
	// Garbage collected early, so the peak shows what is held: at the
	// default pacing the 77 MB the 60,000 rows allocate in passing peaked
	// at +14 to +17 MB whether or not they were held.
	defer debug.SetGCPercent(debug.SetGCPercent(20))
	r := newCountRig(t, r30mJoinWhereYAML)
	const closed = 60_000
	var recs []projector.Record
	id := 0
	for u := 1; u <= 2; u++ {
		for i := 0; i < 10; i++ {
			id++
			recs = append(recs, r.rec("orders", "r", map[string]any{"id": id, "user_id": u, "status": "open", "amount": id, "note": "a note of about forty bytes, as orders have"}))
		}
	}
	for i := 0; i < closed; i++ {
		id++
		recs = append(recs, r.rec("orders", "r", map[string]any{"id": id, "user_id": 2, "status": "closed", "amount": id, "note": "a note of about forty bytes, as orders have"}))
	}
	// The orders first: no user document is computed while they load.
	recs = append(recs, r.rec("users", "r", map[string]any{"id": 1, "name": "u1"}), r.rec("users", "r", map[string]any{"id": 2, "name": "u2"}))
	r.process(recs)
	recs = nil

	before := r.sink.docs
	small := r.measure([]projector.Record{r.rec("users", "u", map[string]any{"id": 1, "name": "renamed"})})
	t.Logf("user of 10 open orders: %s", small)
	big := r.measure([]projector.Record{r.rec("users", "u", map[string]any{"id": 2, "name": "renamed"})})
	t.Logf("user of 10 open orders and %d closed: %s", closed, big)
	if got := r.sink.docs - before; got != 2 {
		t.Errorf("%d user documents written, want 2", got)
	}
	if extra := big.peakMB() - small.peakMB(); extra > 16 {
		t.Errorf("a user document of 10 items whose join's where drops %d other rows: peak heap +%.1f MB, +%.1f MB over the same document without them (> 16 MB): "+
			"every joined row is read whole into memory before the where drops it", closed, big.peakMB(), extra)
	}
}
