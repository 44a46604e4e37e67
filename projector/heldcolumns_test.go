package projector_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

// heldYAML is source name on cqrs.public.items with the given columns
// clause (empty: none declared) and item_view's fields.
func heldYAML(name, columns, fields string) string {
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

// heldStart starts an engine with yaml over the state in pool.
func heldStart(t *testing.T, pool *pgxpool.Pool, yaml string) *projector.Engine {
	t.Helper()
	_, plan := loadPlan(t, yaml, nil)
	return newEngine(t, pool, plan, &memSink{docs: map[string]sinks.Doc{}}, nil)
}

// lackingOf is what validate finds item_view lacks with yaml.
func lackingOf(t *testing.T, pool *pgxpool.Pool, yaml string) []string {
	t.Helper()
	_, plan := loadPlan(t, yaml, nil)
	got, err := projector.LackingColumns(context.Background(), pool, "projector", plan)
	if err != nil {
		t.Fatal(err)
	}
	return got["item_view"]
}

func viewMissing(eng *projector.Engine) []string { return eng.MissingColumns(eng.Plan().Views[0]) }

// TestTypesDecodedAlikeKeepColumnsHeld: a column whose type is spelled
// otherwise, or changed to one the decoder reads alike (varchar(50) to
// text), is held by the rows written before, the type recorded in an
// earlier spelling included; a column widened to a type holding values
// to other bounds (integer to bigint) is not.
func TestTypesDecodedAlikeKeepColumnsHeld(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	ctx := context.Background()
	eng := heldStart(t, pool, typedYAML("varchar(50)"))
	if dead, err := eng.Process(ctx, itemRecords(2, 10, false)); err != nil || len(dead) > 0 {
		t.Fatalf("process: %v %v", err, dead)
	}
	if got := lackingOf(t, pool, typedYAML("text")); len(got) > 0 {
		t.Errorf("validate, varchar(50) to text: lacking %v, want none", got)
	}
	if got := viewMissing(heldStart(t, pool, typedYAML("text"))); len(got) > 0 {
		t.Errorf("start, varchar(50) to text: missing %v, want none", got)
	}
	if got := viewMissing(heldStart(t, pool, typedYAML("varchar(100)"))); len(got) > 0 {
		t.Errorf("start, text to varchar(100): missing %v, want none", got)
	}
	if got := viewMissing(heldStart(t, pool, typedYAML("integer"))); !slices.Equal(got, []string{"items.qty"}) {
		t.Errorf("start, varchar(100) to integer: missing %v, want [items.qty]", got)
	}

	pool, _ = testenv.Postgres(t)
	eng = heldStart(t, pool, typedYAML("integer"))
	if dead, err := eng.Process(ctx, itemRecords(2, 10, false)); err != nil || len(dead) > 0 {
		t.Fatalf("process: %v %v", err, dead)
	}
	if got := viewMissing(heldStart(t, pool, typedYAML("bigint"))); !slices.Equal(got, []string{"items.qty"}) {
		t.Errorf("start, integer to bigint: missing %v, want [items.qty] (a wider range: records refused before are not in the state)", got)
	}

	// Recorded in another spelling, by an earlier start.
	pool, _ = testenv.Postgres(t)
	eng = heldStart(t, pool, typedYAML("numeric(10,0)"))
	if dead, err := eng.Process(ctx, itemRecords(2, 10, false)); err != nil || len(dead) > 0 {
		t.Fatalf("process: %v %v", err, dead)
	}
	if _, err := pool.Exec(ctx, `UPDATE projector.state_columns SET types = jsonb_set(types, '{qty}', '"numeric(10)"')`); err != nil {
		t.Fatal(err)
	}
	if got := lackingOf(t, pool, typedYAML("numeric(10,0)")); len(got) > 0 {
		t.Errorf("validate, recorded numeric(10): lacking %v, want none", got)
	}
	if got := viewMissing(heldStart(t, pool, typedYAML("numeric(10,0)"))); len(got) > 0 {
		t.Errorf("start, recorded numeric(10): missing %v, want none", got)
	}
}

// TestRenamedSourceHoldsWhatTheOldRowsHeld: a source renamed in the file
// is recorded holding what the old source's rows hold, which the
// statement that keeps them gives it, not every column (its own state is
// empty): a column the old source never kept is missing before any start
// (validate), at the start, and after the statement, until a re-read,
// which also makes the old table a leftover to drop.
func TestRenamedSourceHoldsWhatTheOldRowsHeld(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	ctx := context.Background()
	const cols = `{ id: text, name: text, color: text }`
	items := heldStart(t, pool, heldYAML("items", cols, `{ id: id, name: name }`))
	if dead, err := items.Process(ctx, itemRecords(3, 10, true)); err != nil || len(dead) > 0 {
		t.Fatalf("process: %v %v", err, dead)
	}
	goodsYAML := heldYAML("goods", cols, `{ id: id, name: name, color: color }`)
	want := []string{"goods.color"}
	if got := lackingOf(t, pool, goodsYAML); !slices.Equal(got, want) {
		t.Errorf("validate before the renamed start: lacking %v, want %v", got, want)
	}
	goods := heldStart(t, pool, goodsYAML)
	if got := viewMissing(goods); !slices.Equal(got, want) {
		t.Errorf("the renamed start: missing %v, want %v", got, want)
	}
	if got := viewMissing(heldStart(t, pool, goodsYAML)); !slices.Equal(got, want) {
		t.Errorf("a second renamed start: missing %v, want %v", got, want)
	}
	if err := goods.Reread(ctx, goods.Plan().Sources); err != nil {
		t.Fatal(err)
	}
	if got := viewMissing(heldStart(t, pool, goodsYAML)); len(got) > 0 {
		t.Errorf("after a re-read: missing %v, want none", got)
	}
	_, plan := loadPlan(t, goodsYAML, nil)
	leftovers, err := projector.Unneeded(ctx, pool, "projector", plan)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(leftovers, func(l projector.Leftover) bool { return strings.Contains(l.What, "state_items") })
	if i < 0 || leftovers[i].Renamed != "" || !strings.HasPrefix(leftovers[i].Drop, "DROP TABLE") {
		t.Errorf("after the re-read, leftovers %+v: want state_items a table to drop", leftovers)
	}
}

// TestUndeclaredColumnsAfterSlimStateUntilReread: a source whose file
// stops declaring its columns keeps whole rows from then on, but the rows
// written before hold only the columns kept then, decoded as their
// declared types: every column its views read is missing (an expression
// reaching $env reads them all: items.*) until a re-read, after which
// the rows hold the whole row. A record of an earlier version, which
// listed no column for a source declaring none, says whole rows.
func TestUndeclaredColumnsAfterSlimStateUntilReread(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	ctx := context.Background()
	slim := heldStart(t, pool, heldYAML("items", `{ id: text, name: text, color: text }`, `{ id: id, name: name }`))
	if dead, err := slim.Process(ctx, itemRecords(2, 10, true)); err != nil || len(dead) > 0 {
		t.Fatalf("process: %v %v", err, dead)
	}
	wideYAML := heldYAML("items", "", `{ id: id, name: name, color: color, all: { expr: 'string($env["qty"])', type: text } }`)
	want := []string{"items.*", "items.color", "items.id", "items.name"}
	if got := lackingOf(t, pool, wideYAML); !slices.Equal(got, want) {
		t.Errorf("validate: lacking %v, want %v", got, want)
	}
	wide := heldStart(t, pool, wideYAML)
	if got := viewMissing(wide); !slices.Equal(got, want) {
		t.Errorf("start: missing %v, want %v", got, want)
	}
	if got := viewMissing(heldStart(t, pool, wideYAML)); !slices.Equal(got, want) {
		t.Errorf("a second start: missing %v, want %v (whole rows written since do not fill the older ones)", got, want)
	}
	var since time.Time
	if err := pool.QueryRow(ctx, `SELECT now()`).Scan(&since); err != nil {
		t.Fatal(err)
	}
	unfilled, err := wide.RereadSince(ctx, wide.Plan().Sources, since, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(unfilled) != len(want) || unfilled[0].Rows != 2 {
		t.Errorf("a re-read writing no row: unfilled %+v, want each of %v lacking in 2 rows", unfilled, want)
	}
	if dead, err := wide.Process(ctx, itemRecords(2, 20, true)); err != nil || len(dead) > 0 {
		t.Fatalf("process: %v %v", err, dead)
	}
	if unfilled, err := wide.RereadSince(ctx, wide.Plan().Sources, since, true); err != nil || len(unfilled) > 0 {
		t.Fatalf("a re-read writing every row: unfilled %+v (%v), want none", unfilled, err)
	}
	if got := viewMissing(heldStart(t, pool, wideYAML)); len(got) > 0 {
		t.Errorf("after the re-read: missing %v, want none", got)
	}

	// An earlier version's record of whole rows.
	if _, err := pool.Exec(ctx, `UPDATE projector.state_columns SET complete = '{}', types = NULL, whole = NULL`); err != nil {
		t.Fatal(err)
	}
	if got := lackingOf(t, pool, wideYAML); len(got) > 0 {
		t.Errorf("validate over an earlier version's record: lacking %v, want none", got)
	}
	if got := viewMissing(heldStart(t, pool, wideYAML)); len(got) > 0 {
		t.Errorf("a start over an earlier version's record: missing %v, want none", got)
	}
}

// TestRenamedFromSeveralSourcesOffersNoStatement: a source renamed twice
// before its rows were read anew (items → goods → stock) may be the
// rename of goods (the rows changed since the first rename) or of items
// (the rows before it): neither holds the rows as they are now. Both are
// told, at every start, and no statement keeps either's rows (warning,
// leftovers); the state is taken as holding only what both hold
// (items never kept name), until a re-read.
func TestRenamedFromSeveralSourcesOffersNoStatement(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	ctx := context.Background()
	const cols = `{ id: text, name: text }`
	const fields = `{ id: id, name: name }`
	items := heldStart(t, pool, heldYAML("items", cols, `{ id: id }`))
	if dead, err := items.Process(ctx, itemRecords(2, 10, false)); err != nil || len(dead) > 0 {
		t.Fatalf("process: %v %v", err, dead)
	}
	goods := heldStart(t, pool, heldYAML("goods", cols, fields))
	recs := itemRecords(1, 20, false)
	if dead, err := goods.Process(ctx, recs); err != nil || len(dead) > 0 {
		t.Fatalf("process: %v %v", err, dead)
	}
	stockYAML := heldYAML("stock", cols, fields)
	stock := heldStart(t, pool, stockYAML)
	renames, err := stock.Renames(ctx, stock.Plan().Sources)
	if err != nil {
		t.Fatal(err)
	}
	var olds []string
	for _, r := range renames {
		olds = append(olds, r.Old)
		if !slices.Equal(r.Among, []string{"goods", "items"}) || strings.Contains(r.Warning(), "RENAME TO") {
			t.Errorf("rename from %s: among %v, warning %q: want goods and items, no statement", r.Old, r.Among, r.Warning())
		}
	}
	if !slices.Equal(olds, []string{"goods", "items"}) {
		t.Errorf("renames from %v, want goods then items (most recently recorded first)", olds)
	}
	if got := viewMissing(stock); !slices.Equal(got, []string{"stock.name"}) {
		t.Errorf("missing %v, want [stock.name] (items' rows never held it)", got)
	}
	// Changes streamed since fill stock's state in part: still both.
	if dead, err := stock.Process(ctx, itemRecords(1, 30, false)); err != nil || len(dead) > 0 {
		t.Fatalf("process: %v %v", err, dead)
	}
	stock = heldStart(t, pool, stockYAML)
	if renames, err := stock.Renames(ctx, stock.Plan().Sources); err != nil || len(renames) != 2 ||
		!slices.Equal(renames[0].Among, []string{"goods", "items"}) || !slices.Equal(renames[1].Among, []string{"goods", "items"}) {
		t.Errorf("a start once stock holds rows: renames %+v (%v), want from goods and items, among both", renames, err)
	}
	_, plan := loadPlan(t, stockYAML, nil)
	leftovers, err := projector.Unneeded(ctx, pool, "projector", plan)
	if err != nil {
		t.Fatal(err)
	}
	var told []string
	for _, l := range leftovers {
		if l.Renamed != "" {
			told = append(told, fmt.Sprintf("%s keep=%q drop=%q among=%v", l.Renamed, l.Keep, l.Drop, l.Among))
		}
	}
	if len(told) != 2 || !slices.Equal(told, []string{
		`stock keep="" drop="" among=[goods items]`, `stock keep="" drop="" among=[goods items]`}) {
		t.Errorf("leftovers of the renames: %v, want goods' and items' tables, neither with a statement", told)
	}
	if err := stock.Reread(ctx, stock.Plan().Sources); err != nil {
		t.Fatal(err)
	}
	if renames, err := stock.Renames(ctx, stock.Plan().Sources); err != nil || len(renames) > 0 {
		t.Errorf("after a re-read: renames %+v (%v), want none", renames, err)
	}
	if got := viewMissing(heldStart(t, pool, stockYAML)); len(got) > 0 {
		t.Errorf("after a re-read: missing %v, want none", got)
	}
}
