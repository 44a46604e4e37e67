package rebuild

// Day-2: a source column's declared type changed in the file (README,
// "Changing a view in a running deployment", "What it decodes").

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/stack"
)

// r36aRedisQty is the raw JSON value of field qty of the Redis document of
// item id.
func r36aRedisQty(t *testing.T, f *fixture, id string) string {
	t.Helper()
	raw, err := f.rdb.Get(context.Background(), f.prefix+"item:"+id).Result()
	if err != nil {
		t.Fatalf("GET item:%s: %v", id, err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		t.Fatal(err)
	}
	return string(doc["qty"])
}

// TestR36aRetypedSourceColumnRebuiltFromState: an operator changes a
// source column's declared type (`qty: bigint` → `qty: numeric(10,2)`).
// `run` refuses the retyped PostgreSQL column and says to rebuild the view
// with the new file; `validate` says "needs a rebuild"; the rebuild from
// the state goes ahead (state_columns records column names, not their
// types: the state "keeps every column the new definition reads").
//
// But every state row still holds the value as the old declaration decoded
// it (the number 1), and the builder copies a column's state value into the
// document as it is (projector/build.go, KindColumn), so the rebuilt
// Redis document says "qty": 1 while every row the stream brings from now
// on, and a re-read of the same row, say "qty": "1.00" (README: "a column
// declared numeric(p,s) always has s decimals, however the value came").
// The rebuild swaps in a generation whose documents are not what the new
// definition computes from the source rows, and records the new definition
// as the one they follow: no later start or validate says anything.
//
// Expected: a rebuild from the state refuses a view reading a column whose
// declared type changed since its state rows were written (as it refuses
// one reading columns the state did not keep: ErrIncompleteState, naming
// the column, and --from source, kafka or signal), or the documents hold
// the values as the new type gives them.
func TestR36aRetypedSourceColumnRebuiltFromState(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	d := f.startDaemon()
	f.seed(d, 1, 3)
	d.stop()
	if got := r36aRedisQty(t, f, "1"); got != "1" {
		t.Fatalf("before the edit qty = %s, want 1", got)
	}

	f.edit(itemsYAML, "qty: bigint }", `qty: "numeric(10,2)" }`)
	env := f.openEnv()
	_, err := Run(ctx, env, Options{View: "item_view", Keep: 0})
	if errors.Is(err, ErrIncompleteState) {
		return // refused, naming the column: right
	}
	if err != nil {
		t.Fatalf("rebuild from the state: %v", err)
	}

	// The same row, streamed again under the new file: what the new
	// definition gives it.
	d = f.startDaemon()
	d.lsn = 1 << 20 // after the seeded changes
	if err := d.apply(ctx, map[int64]*item{2: {Name: "item-2", Qty: 2}}); err != nil {
		t.Fatal(err)
	}
	d.stop()
	streamed := r36aRedisQty(t, f, "2")
	if streamed != `"2.00"` {
		t.Fatalf("a row streamed under numeric(10,2): qty = %s, want \"2.00\"", streamed)
	}
	if got := r36aRedisQty(t, f, "1"); got != `"1.00"` {
		t.Errorf("after `projector rebuild item_view` with qty declared numeric(10,2), item 1's Redis document has qty = %s, want \"1.00\" "+
			"(item 2 streamed again now has %s): the rebuild from the state served the values the old declaration decoded", got, streamed)
	}
	if logs := f.restart(); logs != "" {
		t.Logf("start after the rebuild warned: %s", logs)
	}
}

// TestR36aRetypedColumnReadByExpressionUnnoticed: the same edit of the
// source (qty: bigint → numeric(10,2)) when the view reads qty only in an
// expression (label: string(qty), text). The view's definition
// (internal/definition: fields, expressions, types, joins, where) names
// the source but none of its column types, so it is unchanged: the
// restart warns of nothing, validate has nothing to say, and the rebuild
// it would take is never asked for. Documents computed from then on say
// "2.00", those of rows not changed since say "1", and a rebuild from the
// state keeps them so.
//
// Expected: a change of a declared type some view reads is told at start
// and by validate as needing a rebuild of that view (one that re-reads the
// rows, see TestR36aRetypedSourceColumnRebuiltFromState).
func TestR36aRetypedColumnReadByExpressionUnnoticed(t *testing.T) {
	ctx := context.Background()
	labelled := strings.Replace(itemsYAML, `fields: { id: id, name: name, qty: qty }`,
		`fields: { id: id, name: name, label: { expr: "string(qty)", type: text } }`, 1)
	f := newFixture(t)
	f.edit(labelled)
	d := f.startDaemon()
	f.seed(d, 1, 2)
	d.stop()

	f.edit(labelled, "qty: bigint }", `qty: "numeric(10,2)" }`)
	logs := f.restart()
	d = f.startDaemon()
	d.lsn = 1 << 20
	if err := d.apply(ctx, map[int64]*item{2: {Name: "item-2", Qty: 2}}); err != nil {
		t.Fatal(err)
	}
	d.stop()
	var one, two string
	if err := f.pool.QueryRow(ctx, `SELECT (SELECT label FROM item_view WHERE id = 1), (SELECT label FROM item_view WHERE id = 2)`).Scan(&one, &two); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(two, ".") && !strings.Contains(one, ".") {
		// The documents disagree: was it told?
		drift, err := stack.CompareDefinitions(ctx, f.openEnv().Registry, f.cfg, f.plan)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(logs, "item_view") && len(drift.Changes) == 0 {
			t.Errorf("qty retyped bigint → numeric(10,2): item 1's label is %q, item 2's (changed since) %q, "+
				"and neither the start nor validate says item_view needs a rebuild:\n%s", one, two, logs)
		}
	}
}
