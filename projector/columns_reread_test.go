package projector_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

// typedYAML declares items with qty of the given type; the view reads it.
func typedYAML(qty string) string {
	return `
version: 1
kafka: { brokers: "localhost:9092", group: g }
stores: { postgres: { url: "postgres://unused" } }
sources:
  items: { topic: cqrs.public.items, key: id, columns: { id: text, name: text, qty: "` + qty + `", color: text } }
views:
  item_view:
    from: items
    fields: { id: id, name: name, label: { expr: "string(qty)", type: text } }
    sinks: { postgres: {} }
`
}

// itemRecords are creates of items i0..i(n-1), at positions from lsn.
func itemRecords(n int, lsn int, color bool) []projector.Record {
	var recs []projector.Record
	for i := range n {
		after := fmt.Sprintf(`{"id":"i%d","name":"n","qty":%d}`, i, i+1)
		if color {
			after = fmt.Sprintf(`{"id":"i%d","name":"n","qty":%d,"color":"red"}`, i, i+1)
		}
		recs = append(recs, projector.Record{Topic: "cqrs.public.items", Offset: int64(lsn + i), Key: fmt.Appendf(nil, `{"id":"i%d"}`, i),
			Value: fmt.Appendf(nil, `{"op":"c","source":{"connector":"postgresql","lsn":%d},"after":%s}`, lsn+i, after)})
	}
	return recs
}

// TestRetypedColumnMissingUntilReread: the rows of the state hold a
// column's values as the declared type of their writer decoded them. A
// start whose file declares another type for a column it keeps takes it
// out of the columns every row holds, as a column not kept: the view
// reading it (in an expression too) is told at start and by validate,
// until a re-read records it with its new type. A column recorded without
// a type (an earlier version) is taken as unchanged.
func TestRetypedColumnMissingUntilReread(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	ctx := context.Background()
	start := func(qty string) (*projector.Engine, string) {
		t.Helper()
		_, plan := loadPlan(t, typedYAML(qty), nil)
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
	missing := func(eng *projector.Engine) []string { return eng.MissingColumns(eng.Plan().Views[0]) }
	want := []string{"items.qty"}

	eng, _ := start("bigint")
	if dead, err := eng.Process(ctx, itemRecords(2, 10, false)); err != nil || len(dead) > 0 {
		t.Fatalf("process: %v %v", err, dead)
	}
	if got := missing(eng); len(got) != 0 {
		t.Fatalf("the state's own type: missing %v, want none", got)
	}
	_, numericPlan := loadPlan(t, typedYAML("numeric(10,2)"), nil)
	if got, err := projector.LackingColumns(ctx, pool, "projector", numericPlan); err != nil || !slices.Equal(got["item_view"], want) {
		t.Fatalf("validate before the retyped start: lacking %v (%v), want %v", got, err, want)
	}
	retyped, logs := start("numeric(10,2)")
	if got := missing(retyped); !slices.Equal(got, want) {
		t.Fatalf("retyped: missing %v, want %v", got, want)
	}
	if !strings.Contains(logs, "item_view") || !strings.Contains(logs, "items.qty") {
		t.Errorf("the retyped start did not warn of item_view reading items.qty: %s", logs)
	}
	if got, _ := start("numeric(10,2)"); !slices.Equal(missing(got), want) {
		t.Fatalf("a second retyped start: missing %v, want %v (only a re-read decodes the rows anew)", missing(got), want)
	}
	if err := retyped.Reread(ctx, retyped.Plan().Sources); err != nil {
		t.Fatal(err)
	}
	if got, _ := start("numeric(10,2)"); len(missing(got)) != 0 {
		t.Fatalf("after the re-read: missing %v, want none", missing(got))
	}
	if got, _ := start("bigint"); !slices.Equal(missing(got), want) {
		t.Fatalf("an instance of the earlier type: missing %v, want %v", missing(got), want)
	}

	// Recorded by an earlier version: no types.
	if _, err := pool.Exec(ctx, `UPDATE projector.state_columns SET types = NULL, complete = '{color,id,name,qty}'`); err != nil {
		t.Fatal(err)
	}
	if got, _ := start("numeric(10,2)"); len(missing(got)) != 0 {
		t.Errorf("a column recorded without a type: missing %v, want none (taken as unchanged)", missing(got))
	}
}

// TestRereadSinceRecordsWhatRowsHold: a re-read records as held only the
// columns every live row holds once it is done: a row the re-read did not
// write keeps what it held; replayed from Kafka, a row written without the
// column (a TOAST placeholder over a row that never kept it) lacks it.
// The columns some rows lack stay missing, counted.
func TestRereadSinceRecordsWhatRowsHold(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	ctx := context.Background()
	_, narrowPlan := loadPlan(t, columnsYAML(`{ id: id, name: name }`), nil)
	narrow := newEngine(t, pool, narrowPlan, &memSink{docs: map[string]sinks.Doc{}}, nil)
	var recs []projector.Record
	for i := range 3 {
		recs = append(recs, projector.Record{Topic: "cqrs.public.items", Offset: int64(i), Key: fmt.Appendf(nil, `{"id":"i%d"}`, i),
			Value: fmt.Appendf(nil, `{"op":"c","source":{"connector":"postgresql","lsn":%d},"after":{"id":"i%d","name":"n","color":"red"}}`, 10+i, i)})
	}
	if dead, err := narrow.Process(ctx, recs); err != nil || len(dead) > 0 {
		t.Fatalf("process: %v %v", err, dead)
	}
	_, widePlan := loadPlan(t, columnsYAML(`{ id: id, name: name, color: color }`), nil)
	wide := newEngine(t, pool, widePlan, &memSink{docs: map[string]sinks.Doc{}}, nil)
	items := []*projections.Source{wide.Plan().Source("items")}
	now := func() time.Time {
		var at time.Time
		if err := pool.QueryRow(ctx, `SELECT now()`).Scan(&at); err != nil {
			t.Fatal(err)
		}
		return at
	}

	// Nothing written since: every row lacks color.
	got, err := wide.RereadSince(ctx, items, now(), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != (projector.Unfilled{Source: "items", Column: "color", Rows: 3}) {
		t.Fatalf("no row written again: unfilled %+v, want items.color in 3 rows", got)
	}
	if cols := wide.MissingColumns(wide.Plan().Views[0]); !slices.Equal(cols, []string{"items.color"}) {
		t.Fatalf("missing %v, want [items.color]", cols)
	}

	// Replayed: two rows written with their color, one by a TOAST
	// placeholder that keeps what the row held (nothing).
	since := now()
	recs = recs[:2]
	for i := range recs {
		recs[i].Value = fmt.Appendf(nil, `{"op":"u","source":{"connector":"postgresql","lsn":%d},"after":{"id":"i%d","name":"n","color":"red"}}`, 20+i, i)
	}
	recs = append(recs, projector.Record{Topic: "cqrs.public.items", Offset: 5, Key: []byte(`{"id":"i2"}`),
		Value: []byte(`{"op":"u","source":{"connector":"postgresql","lsn":30},"after":{"id":"i2","name":"m","color":"__debezium_unavailable_value"}}`)})
	if dead, err := wide.Process(ctx, recs); err != nil || len(dead) > 0 {
		t.Fatalf("process: %v %v", err, dead)
	}
	if got, err = wide.RereadSince(ctx, items, since, true); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Rows != 1 {
		t.Fatalf("replayed, one row without color: unfilled %+v, want items.color in 1 row", got)
	}
	// Read from the source, a row without a column is the source's.
	if got, err = wide.RereadSince(ctx, items, since, false); err != nil || len(got) != 0 {
		t.Fatalf("read from the source, every row written: unfilled %+v (%v), want none", got, err)
	}
	if cols := wide.MissingColumns(wide.Plan().Views[0]); len(cols) != 0 {
		t.Errorf("after a whole re-read: missing %v, want none", cols)
	}
}

// TestRenamedSourceToldUntilReread: a source renamed in the file (same
// topic) is told at every start, and to validate, though changes streamed
// since fill its new state in part, until a re-read of its rows.
func TestRenamedSourceToldUntilReread(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	ctx := context.Background()
	yaml := func(name string) string {
		return `
version: 1
kafka: { brokers: "localhost:9092", group: g }
stores: { postgres: { url: "postgres://unused" } }
sources:
  ` + name + `: { topic: cqrs.public.owners, key: id, columns: { id: text, name: text } }
views:
  owner_view:
    from: ` + name + `
    fields: { id: id, name: name }
    sinks: { postgres: {} }
`
	}
	start := func(name string) (*projector.Engine, string) {
		t.Helper()
		_, plan := loadPlan(t, yaml(name), nil)
		var logs bytes.Buffer
		eng, err := projector.New(projector.Options{Plan: plan, Pool: pool, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
			Sinks: []projector.Route{{Sink: &memSink{docs: map[string]sinks.Doc{}}, Views: []string{"owner_view"}}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := eng.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		return eng, logs.String()
	}
	owner := func(id string, lsn int) []projector.Record {
		return []projector.Record{{Topic: "cqrs.public.owners", Key: fmt.Appendf(nil, `{"id":%q}`, id),
			Value: fmt.Appendf(nil, `{"op":"c","source":{"connector":"postgresql","lsn":%d},"after":{"id":%q,"name":"Ada"}}`, lsn, id)}}
	}
	const told = "source people reads topic cqrs.public.owners, whose rows the state of source owners"
	eng, _ := start("owners")
	for i, id := range []string{"o1", "o2"} {
		if dead, err := eng.Process(ctx, owner(id, 10+i)); err != nil || len(dead) > 0 {
			t.Fatalf("process: %v %v", err, dead)
		}
	}
	_, peoplePlan := loadPlan(t, yaml("people"), nil)
	if got, err := projector.RenamedSources(ctx, pool, "projector", peoplePlan); err != nil || len(got) != 1 || got[0].Old != "owners" {
		t.Fatalf("validate before the renamed start: %+v (%v), want people renamed from owners", got, err)
	}
	people, logs := start("people")
	if !strings.Contains(logs, told) {
		t.Fatalf("the renamed start did not tell the rename: %s", logs)
	}
	if dead, err := people.Process(ctx, owner("o3", 20)); err != nil || len(dead) > 0 {
		t.Fatalf("process: %v %v", err, dead)
	}
	if _, logs := start("people"); !strings.Contains(logs, told) {
		t.Errorf("a start after a change filled the new state in part no longer tells the rename: %s", logs)
	}
	renames, err := people.Renames(ctx, people.Plan().Sources)
	if err != nil || len(renames) != 1 || renames[0].Rename() != `ALTER TABLE "projector"."state_owners" RENAME TO "state_people"` {
		t.Fatalf("renames %+v (%v)", renames, err)
	}
	if err := people.Reread(ctx, people.Plan().Sources); err != nil {
		t.Fatal(err)
	}
	if _, logs := start("people"); strings.Contains(logs, "no longer declared") {
		t.Errorf("a start after the re-read still tells the rename: %s", logs)
	}
	if got, err := projector.RenamedSources(ctx, pool, "projector", peoplePlan); err != nil || len(got) != 0 {
		t.Errorf("validate after the re-read: %+v (%v), want nothing", got, err)
	}
}
