package projector_test

// Review of kept groups: the fingerprint a kept group records
// (groupFingerprint) must name everything the group was computed from, or
// a group computed from other rows is trusted.

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

const reviewFromYAML = `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://unused/x" } }
sources:
  rows: { topic: t.public.rows, format: json, key: id, columns: { id: bigint, g: text, amount: "numeric(10,2)" } }
  archive: { topic: t.public.archive, format: json, key: id, columns: { id: bigint, g: text, amount: "numeric(10,2)" } }
views:
  by_g:
    from: rows
    group_by: g
    fields:
      g: g
      n: { agg: count }
      total: { agg: sum, of: amount }
    sinks: { postgres: {} }
`

func reviewPut(t *testing.T, eng *projector.Engine, source string, pos *int64, id int, g, amount string) {
	t.Helper()
	*pos++
	after := map[string]any{"id": json.Number(strconv.Itoa(id)), "g": g, "amount": amount}
	ch := debezium.Change{Kind: debezium.KindChange, Op: debezium.OpUpdate, Position: debezium.Position{Lo: *pos}, After: after}
	if err := eng.ProcessChanges(context.Background(), source, []debezium.Change{ch}); err != nil {
		t.Fatal(err)
	}
}

func reviewDoc(t *testing.T, s *viewSink, key string) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.docs[key]
	if !ok || d.Deleted {
		return "absent"
	}
	return canonical(t, d.Fields)
}

// TestReviewGroupFingerprintIgnoresRootSource: a view whose `from:` now
// names another source (same columns, same where, group_by and fields)
// keeps trusting the groups it kept over the rows of the previous source:
// the fingerprint does not name the root source. A rebuild of the view from
// the state (RecomputeDocs, what `projector rebuild` runs) serves the old
// source's aggregates, and the first change of the new source adds to them.
func TestReviewGroupFingerprintIgnoresRootSource(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	ctx := context.Background()
	_, plan1 := loadPlan(t, reviewFromYAML, nil)
	sink := newViewSink()
	eng1 := newEngine(t, pool, plan1, sink, nil)
	pos := int64(0)
	reviewPut(t, eng1, "rows", &pos, 1, "a", "1.00")
	reviewPut(t, eng1, "rows", &pos, 2, "a", "2.00")
	reviewPut(t, eng1, "rows", &pos, 3, "a", "4.00")
	if got, want := reviewDoc(t, sink, "by_g/a"), `{"g":"a","n":3,"total":7.00}`; got != want {
		t.Fatalf("by_g/a over rows = %s, want %s", got, want)
	}

	// The view now reads archive, which holds one row of group a.
	_, plan2 := loadPlan(t, replaceOnce(t, reviewFromYAML, "from: rows", "from: archive"), nil)
	sink2 := newViewSink()
	eng2 := newEngine(t, pool, plan2, sink2, nil)
	// A rebuild from the state: what does group a hold? archive has no row yet.
	docs, err := eng2.RecomputeDocs(ctx, "by_g", map[string]map[string]any{"a": {"g": "a"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 1 {
		t.Fatalf("rebuild of by_g/a gave %d docs, want 1", len(docs))
	}
	if !docs[0].Deleted {
		t.Errorf("rebuild of by_g/a from archive (no rows) = %s deleted=%v, want a deleted doc: the group kept over rows was trusted",
			canonical(t, docs[0].Fields), docs[0].Deleted)
	}
	reviewPut(t, eng2, "archive", &pos, 10, "a", "100.00")
	if got, want := reviewDoc(t, sink2, "by_g/a"), `{"g":"a","n":1,"total":100.00}`; got != want {
		t.Errorf("by_g/a over archive after its first row = %s, want %s (recomputed from archive's rows): the kept group of source rows took the change", got, want)
	}
}

// TestReviewGroupFingerprintIgnoresRenamedSource: a source renamed in the
// file (same topic) gets a new, empty state table; the README's remedy
// when its old table is not renamed is a rebuild `--from kafka`, which
// replays the topic into the new state. Each replayed row is an insert
// into the new table (no old row), so it is added to the group kept over
// the old table's rows, which already counts it: every row counts twice.
func TestReviewGroupFingerprintIgnoresRenamedSource(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan1 := loadPlan(t, reviewFromYAML, nil)
	sink := newViewSink()
	eng1 := newEngine(t, pool, plan1, sink, nil)
	pos := int64(0)
	reviewPut(t, eng1, "rows", &pos, 1, "a", "1.00")
	reviewPut(t, eng1, "rows", &pos, 2, "a", "2.00")

	renamed := replaceOnce(t, reviewFromYAML, "  rows: { topic: t.public.rows", "  rows_v2: { topic: t.public.rows")
	renamed = replaceOnce(t, renamed, "from: rows", "from: rows_v2")
	_, plan2 := loadPlan(t, renamed, nil)
	sink2 := newViewSink()
	eng2 := newEngine(t, pool, plan2, sink2, nil)
	// The replay of the topic: the same two rows, at their positions.
	replay := int64(0)
	reviewPut(t, eng2, "rows_v2", &replay, 1, "a", "1.00")
	reviewPut(t, eng2, "rows_v2", &replay, 2, "a", "2.00")
	if got, want := reviewDoc(t, sink2, "by_g/a"), `{"g":"a","n":2,"total":3.00}`; got != want {
		t.Errorf("by_g/a after replaying the topic into the renamed source = %s, want %s (what its rows give)", got, want)
	}
}

const reviewTypeYAML = `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://unused/x" } }
sources:
  rows: { topic: t.public.rows, format: json, key: id, columns: { id: bigint, g: text, q: bigint } }
views:
  by_g:
    from: rows
    group_by: g
    where: q > 1
    fields:
      g: g
      n: { agg: count }
    sinks: { postgres: {} }
`

// TestReviewGroupFingerprintIgnoresColumnTypes: the where `q > 1` reads
// 1.5 as 1 when q is declared bigint, as 1.5 when it is numeric(10,2). A
// source column retyped (the source table's column was) changes what the
// where keeps, but not the fingerprint: the kept group, computed with the
// old type, takes changes evaluated with the new one, and a row it never
// counted is taken away from it.
func TestReviewGroupFingerprintIgnoresColumnTypes(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan1 := loadPlan(t, reviewTypeYAML, nil)
	sink := newViewSink()
	eng1 := newEngine(t, pool, plan1, sink, nil)
	pos := int64(0)
	put := func(eng *projector.Engine, id int, q string) {
		t.Helper()
		pos++
		after := map[string]any{"id": json.Number(strconv.Itoa(id)), "g": "a", "q": json.Number(q)}
		if err := eng.ProcessChanges(context.Background(), "rows", []debezium.Change{{Kind: debezium.KindChange, Op: debezium.OpUpdate, Position: debezium.Position{Lo: pos}, After: after}}); err != nil {
			t.Fatal(err)
		}
	}
	put(eng1, 1, "5")
	put(eng1, 2, "5")
	put(eng1, 3, "1.5") // not > 1 as a bigint
	if got, want := reviewDoc(t, sink, "by_g/a"), `{"g":"a","n":2}`; got != want {
		t.Fatalf("by_g/a with q bigint = %s, want %s", got, want)
	}
	_, plan2 := loadPlan(t, replaceOnce(t, reviewTypeYAML, "q: bigint", `q: "numeric(10,2)"`), nil)
	sink2 := newViewSink()
	eng2 := newEngine(t, pool, plan2, sink2, nil)
	put(eng2, 3, "0.5") // leaves: 1.5 > 1 now, so it is taken away
	// Rows: 5, 5, 0.5: two pass q > 1.
	if got, want := reviewDoc(t, sink2, "by_g/a"), `{"g":"a","n":2}`; got != want {
		t.Errorf("by_g/a after q became numeric(10,2) = %s, want %s (what its rows give)", got, want)
	}
}
