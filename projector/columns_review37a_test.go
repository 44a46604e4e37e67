package projector_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

// r37aYAML is items on cqrs.public.items with the given columns clause
// (empty: none declared) and the view's fields.
func r37aYAML(name, columns, fields string) string {
	if columns != "" {
		columns = ", columns: " + columns
	}
	return `
version: 1
kafka: { brokers: "localhost:9092", group: g }
stores: { postgres: { url: "postgres://unused" } }
sources:
  ` + name + `: { topic: cqrs.public.items, key: id` + columns + ` }
views:
  item_view:
    from: ` + name + `
    fields: ` + fields + `
    sinks: { postgres: {} }
`
}

// TestR37aEqualTypeSpellingsNotRetyped: numeric(10) is numeric(10,0) in
// PostgreSQL (format_type prints both numeric(10,0)) and in projector's own
// decoder (precision 10, scale 0 either way); timestamptz and
// timestamptz(6) hold the same microseconds and decode alike. Rows decoded
// under one spelling hold exactly what the other would decode, so a start
// whose file spells the type the other way has nothing missing. The state
// compares config.Type.String() texts ("numeric(10)" vs "numeric(10,0)",
// "timestamptz" vs "timestamptz(6)") and takes the column as retyped: run
// warns, validate reports a needed rebuild, a rebuild from the state is
// refused, and only a re-read of the whole source clears it.
func TestR37aEqualTypeSpellingsNotRetyped(t *testing.T) {
	for _, tc := range []struct{ before, after, value string }{
		{"numeric(10)", "numeric(10,0)", `12`},
		{"timestamptz", "timestamptz(6)", `"2024-05-01T10:00:00.123456Z"`},
	} {
		t.Run(tc.before+"→"+tc.after, func(t *testing.T) {
			pool, _ := testenv.Postgres(t)
			ctx := context.Background()
			yaml := func(typ string) string {
				return r37aYAML("items", `{ id: text, name: text, qty: "`+typ+`" }`, `{ id: id, name: name, label: { expr: "string(qty)", type: text } }`)
			}
			_, plan := loadPlan(t, yaml(tc.before), nil)
			eng := newEngine(t, pool, plan, &memSink{docs: map[string]sinks.Doc{}}, nil)
			rec := projector.Record{Topic: "cqrs.public.items", Key: []byte(`{"id":"i1"}`),
				Value: fmt.Appendf(nil, `{"op":"c","source":{"connector":"postgresql","lsn":10},"after":{"id":"i1","name":"n","qty":%s}}`, tc.value)}
			if dead, err := eng.Process(ctx, []projector.Record{rec}); err != nil || len(dead) > 0 {
				t.Fatalf("process: %v %v", err, dead)
			}
			_, samePlan := loadPlan(t, yaml(tc.after), nil)
			if got, err := projector.LackingColumns(ctx, pool, "projector", samePlan); err != nil || len(got) > 0 {
				t.Errorf("validate with %s for %s: lacking %v (%v), want none: the same type", tc.after, tc.before, got, err)
			}
			same := newEngine(t, pool, samePlan, &memSink{docs: map[string]sinks.Doc{}}, nil)
			if got := same.MissingColumns(same.Plan().Views[0]); len(got) > 0 {
				t.Errorf("a start with %s over rows decoded as %s: missing %v, want none: the same type", tc.after, tc.before, got)
			}
			// The same change decoded under the other spelling: the state holds
			// the same value.
			rec.Key, rec.Value = []byte(`{"id":"i2"}`), fmt.Appendf(nil, `{"op":"c","source":{"connector":"postgresql","lsn":11},"after":{"id":"i2","name":"n","qty":%s}}`, tc.value)
			if dead, err := same.Process(ctx, []projector.Record{rec}); err != nil || len(dead) > 0 {
				t.Fatalf("process: %v %v", err, dead)
			}
			var before, after string
			if err := pool.QueryRow(ctx, `SELECT a.data->>'qty', b.data->>'qty' FROM projector.state_items a, projector.state_items b
				WHERE a.data->>'id' = 'i1' AND b.data->>'id' = 'i2'`).Scan(&before, &after); err != nil || before != after {
				t.Fatalf("decoded as %s: %q, as %s: %q (%v)", tc.before, before, tc.after, after, err)
			}
		})
	}
}

// TestR37aRenameStatementLeavesColumnsUntold: a source renamed in the file
// (items → goods), whose view now also reads color, which items never
// kept. The first start with the new file makes the new, empty state table
// and records every column goods keeps as held ("an empty state holds them
// all"). The operator then does what that start's warning and validate
// say to keep the rows: with every instance stopped, DROP TABLE
// state_goods; ALTER TABLE state_items RENAME TO state_goods. The state
// now holds items' rows, none with a color, but state_columns still says
// every row of goods holds it: the next start warns of nothing, validate
// reports nothing, and a rebuild from the state (no longer refused: the
// old table is gone) serves color null for every old row. The rename
// statement (or the start that finds renamed_from's table gone) must carry
// the old source's complete columns and types over.
func TestR37aRenameStatementLeavesColumnsUntold(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	ctx := context.Background()
	start := func(yaml string) (*projector.Engine, string) {
		t.Helper()
		_, plan := loadPlan(t, yaml, nil)
		var logs bytes.Buffer
		eng, err := projector.New(projector.Options{Plan: plan, Pool: pool, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
			Sinks: []projector.Route{{Sink: &memSink{docs: map[string]sinks.Doc{}}, Views: []string{"item_view"}}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := eng.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		return eng, logs.String()
	}
	const cols = `{ id: text, name: text, color: text }`
	old, _ := start(r37aYAML("items", cols, `{ id: id, name: name }`))
	if dead, err := old.Process(ctx, itemRecords(3, 10, true)); err != nil || len(dead) > 0 {
		t.Fatalf("process: %v %v", err, dead)
	}
	renamedYAML := r37aYAML("goods", cols, `{ id: id, name: name, color: color }`)
	_, logs := start(renamedYAML)
	if !bytes.Contains([]byte(logs), []byte("RENAME TO")) {
		t.Fatalf("the renamed start did not give the rename statement: %s", logs)
	}
	// What the warning says, with every instance stopped.
	if _, err := pool.Exec(ctx, `DROP TABLE "projector"."state_goods"; ALTER TABLE "projector"."state_items" RENAME TO "state_goods"`); err != nil {
		t.Fatal(err)
	}
	var held int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM projector.state_goods WHERE NOT data ? 'color'`).Scan(&held); err != nil || held != 3 {
		t.Fatalf("rows of goods without color: %d (%v), want 3", held, err)
	}
	_, plan := loadPlan(t, renamedYAML, nil)
	if got, err := projector.LackingColumns(ctx, pool, "projector", plan); err != nil || !slices.Equal(got["item_view"], []string{"goods.color"}) {
		t.Errorf("validate after the rename statement: lacking %v (%v), want goods.color (no row of the state holds it)", got, err)
	}
	eng, _ := start(renamedYAML)
	if got := eng.MissingColumns(eng.Plan().Views[0]); !slices.Equal(got, []string{"goods.color"}) {
		t.Errorf("a start after the rename statement: missing %v, want [goods.color] (no row of the state holds it)", got)
	}
	if renames, err := eng.Renames(ctx, eng.Plan().Sources); err != nil || len(renames) != 0 {
		t.Fatalf("renames after the statement: %+v (%v)", renames, err)
	}
}

// TestR37aUndeclaredColumnsAfterSlimState: items declared its columns, so
// the state kept only those a view read (id, name). The file then stops
// declaring them (the whole row is kept from then on) and the view reads
// color: every row written before lacks it, as when a declared column
// starts to be read. Nothing tracks it: trackColumns and LackingColumns
// only look at Kept, empty for a source without declared columns, so no
// start warns, validate is silent, and a rebuild from the state is not
// refused, serving color null for every older row.
func TestR37aUndeclaredColumnsAfterSlimState(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	ctx := context.Background()
	_, slimPlan := loadPlan(t, r37aYAML("items", `{ id: text, name: text, color: text }`, `{ id: id, name: name }`), nil)
	slim := newEngine(t, pool, slimPlan, &memSink{docs: map[string]sinks.Doc{}}, nil)
	if dead, err := slim.Process(ctx, itemRecords(2, 10, true)); err != nil || len(dead) > 0 {
		t.Fatalf("process: %v %v", err, dead)
	}
	var lacking int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM projector.state_items WHERE NOT data ? 'color'`).Scan(&lacking); err != nil || lacking != 2 {
		t.Fatalf("rows without color: %d (%v), want 2", lacking, err)
	}
	wideYAML := r37aYAML("items", "", `{ id: id, name: name, color: color }`)
	_, widePlan := loadPlan(t, wideYAML, nil)
	if got, err := projector.LackingColumns(ctx, pool, "projector", widePlan); err != nil || len(got["item_view"]) == 0 {
		t.Errorf("validate: lacking %v (%v), want item_view reading items.color, which no row holds", got, err)
	}
	wide := newEngine(t, pool, widePlan, &memSink{docs: map[string]sinks.Doc{}}, nil)
	if got := wide.MissingColumns(wide.Plan().Views[0]); len(got) == 0 {
		t.Errorf("a start whose file no longer declares items' columns: missing nothing, want items.color (no row holds it)")
	}
}

// TestR37aRenameCandidateSuperseded: items was renamed goods, and goods
// read its rows again (a rebuild --from source: the rename is over, and
// state_items, never dropped, is frozen as of the rename; validate calls
// it a leftover to DROP). Items i0 is deleted since. Then goods is renamed
// stock. The start (and validate) name both items and goods as the source
// stock was renamed from, each with "DROP TABLE state_stock; ALTER TABLE
// ... RENAME TO state_stock" (in name order). Following items' serves
// the rows as they were before the first rename (i0 alive again), and
// nothing tells afterwards. Only goods, the source whose state was current,
// is the rename; items' table was already a leftover.
func TestR37aRenameCandidateSuperseded(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	ctx := context.Background()
	const cols = `{ id: text, name: text }`
	const fields = `{ id: id, name: name }`
	start := func(name string) *projector.Engine {
		t.Helper()
		_, plan := loadPlan(t, r37aYAML(name, cols, fields), nil)
		return newEngine(t, pool, plan, &memSink{docs: map[string]sinks.Doc{}}, nil)
	}
	items := start("items")
	if dead, err := items.Process(ctx, itemRecords(2, 10, false)); err != nil || len(dead) > 0 {
		t.Fatalf("process: %v %v", err, dead)
	}
	goods := start("goods")
	if err := goods.Reread(ctx, goods.Plan().Sources); err != nil {
		t.Fatal(err)
	}
	// What the re-read wrote, and a delete since.
	recs := itemRecords(2, 20, false)
	recs = append(recs, projector.Record{Topic: "cqrs.public.items", Offset: 30, Key: []byte(`{"id":"i0"}`),
		Value: []byte(`{"op":"d","source":{"connector":"postgresql","lsn":30},"before":{"id":"i0"},"after":null}`)})
	if dead, err := goods.Process(ctx, recs); err != nil || len(dead) > 0 {
		t.Fatalf("process: %v %v", err, dead)
	}
	if got, err := goods.Renames(ctx, goods.Plan().Sources); err != nil || len(got) != 0 {
		t.Fatalf("goods after its re-read: renames %+v (%v), want none", got, err)
	}
	stock := start("stock")
	got, err := stock.Renames(ctx, stock.Plan().Sources)
	if err != nil {
		t.Fatal(err)
	}
	var olds []string
	for _, r := range got {
		olds = append(olds, r.Old)
	}
	if !slices.Equal(olds, []string{"goods"}) {
		t.Errorf("stock renamed from goods: renames from %v, want [goods] (items' state is frozen as of its rename to goods: "+
			"its rows put in place of stock's would bring i0, deleted since, back)", olds)
	}
}
