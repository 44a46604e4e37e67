package projector_test

import (
	"context"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestReviewOutOfStepGroupRepaired: during a rolling upgrade an instance
// of the earlier version (which keeps no groups) writes a row of group a to
// the state; it is simulated here by the plain upsert that version's apply
// runs. A new instance then changes another row of group a within the
// trust period and writes the group's doc from the kept group, which
// misses the earlier version's row (documented: "may show a stale
// aggregate"). A rebuild from the state computes the group from its rows;
// past the trust period, the next change of the group does too. (A group
// no batch touches after that stays as written until one does: the README
// says to stop the earlier instances first, or to rebuild group views.)
func TestReviewOutOfStepGroupRepaired(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	ctx := context.Background()
	_, plan := loadPlan(t, reviewFromYAML, nil)
	sink := newViewSink()
	eng := newEngine(t, pool, plan, sink, nil)
	pos := int64(0)
	reviewPut(t, eng, "rows", &pos, 1, "a", "1.00")

	// The earlier version applies row 2 to the state (and writes by_g/a from
	// the rows, n=2: overwritten below by a higher revision anyway).
	pos++
	if _, err := pool.Exec(ctx, `INSERT INTO projector.state_rows AS s (key, data, pos_hi, pos_lo, deleted, updated_at)
		VALUES ('2', '{"id": 2, "g": "a", "amount": "2.00"}', 0, $1, false, now())
		ON CONFLICT (key) DO UPDATE SET data = excluded.data, pos_hi = excluded.pos_hi, pos_lo = excluded.pos_lo,
			deleted = excluded.deleted, updated_at = now()`, pos); err != nil {
		t.Fatal(err)
	}
	reviewPut(t, eng, "rows", &pos, 3, "a", "4.00") // the new instance, within the trust period

	// A rebuild from the state within the trust period.
	docs, err := eng.RecomputeDocs(ctx, "by_g", map[string]map[string]any{"a": {"g": "a"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := canonical(t, docs[0].Fields), `{"g":"a","n":3,"total":7.00}`; got != want {
		t.Errorf("rebuild of by_g/a from the state = %s, want %s (its rows): a rebuild copies the kept group", got, want)
	}

	// The trust period passes; the next change of the group computes it
	// from its rows.
	if _, err := pool.Exec(ctx, `UPDATE projector.group_aggs SET verified_at = verified_at - interval '11 minutes'`); err != nil {
		t.Fatal(err)
	}
	reviewPut(t, eng, "rows", &pos, 4, "a", "8.00")
	if got, want := reviewDoc(t, sink, "by_g/a"), `{"g":"a","n":4,"total":15.00}`; got != want {
		t.Errorf("by_g/a after a change past the trust period = %s, want %s (its rows)", got, want)
	}
}

const reviewNoGroupYAML = `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://unused/x" } }
sources:
  rows: { topic: t.public.rows, format: json, key: id, columns: { id: bigint, g: text, amount: "numeric(10,2)" } }
  archive: { topic: t.public.archive, format: json, key: id, columns: { id: bigint, g: text, amount: "numeric(10,2)" } }
views:
  row_view:
    from: rows
    fields:
      id: id
      g: g
      amount: amount
    sinks: { postgres: {} }
`

// TestReviewInstanceWithoutTheViewLeavesGroupsOutOfStep: the same thing
// with this version only. Two instances share the state during a rolling
// deploy of a file that adds the group_by view by_g (or while a file that
// dropped it is rolled back): the instance whose file lacks by_g writes
// rows of group a without touching its kept group. Once every instance
// runs the file with by_g, its documents are computed from the kept group,
// which misses those rows; the rebuild README prescribes for a new view
// (`projector rebuild by_g`, from the state) serves the same wrong group
// within the trust period. Fixed: an instance writing a source over which
// others keep groups it does not stops their being trusted (group_keepers),
// and a rebuild computes groups from their rows.
func TestReviewInstanceWithoutTheViewLeavesGroupsOutOfStep(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	ctx := context.Background()
	_, withView := loadPlan(t, reviewFromYAML, nil)
	_, without := loadPlan(t, reviewNoGroupYAML, nil)
	sink := newViewSink()
	engX := newEngine(t, pool, withView, sink, nil)
	engY := newEngine(t, pool, without, newViewSink(), nil)
	pos := int64(0)
	reviewPut(t, engX, "rows", &pos, 1, "a", "1.00")
	reviewPut(t, engY, "rows", &pos, 2, "a", "2.00") // the instance without by_g
	reviewPut(t, engX, "rows", &pos, 3, "a", "4.00")
	// engY's write stopped the kept group being trusted (group_keepers).
	if got, want := reviewDoc(t, sink, "by_g/a"), `{"g":"a","n":3,"total":7.00}`; got != want {
		t.Errorf("by_g/a after a change by the instance keeping its groups = %s, want %s (its three rows)", got, want)
	}
	docs, err := engX.RecomputeDocs(ctx, "by_g", map[string]map[string]any{"a": {"g": "a"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := canonical(t, docs[0].Fields), `{"g":"a","n":3,"total":7.00}`; got != want {
		t.Errorf("rebuild of by_g/a from the state = %s, want %s (its three rows)", got, want)
	}
}
