package projector_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

// columnsYAML declares items with a color; the view reads fields (and the
// owners join) as given.
func columnsYAML(fields string) string {
	return `
version: 1
kafka: { brokers: "localhost:9092", group: g }
stores: { postgres: { url: "postgres://unused" } }
sources:
  items: { topic: cqrs.public.items, key: id, columns: { id: text, name: text, color: text, owner: text } }
  owners: { topic: cqrs.public.owners, key: id, columns: { id: text, name: text, city: text } }
views:
  item_view:
    from: items
    fields: ` + fields + `
    sinks: { postgres: {} }
`
}

// TestMissingColumns: a column a changed view starts to read was not kept
// in the state rows written before: its documents would show it null until
// the rows are read again from the source, even after a rebuild from the
// state. The engine says which columns each view reads that older rows may
// lack, until a re-read (Reread) fills them; an instance keeping fewer
// columns makes them missing again.
func TestMissingColumns(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	ctx := context.Background()
	start := func(fields string) *projector.Engine {
		t.Helper()
		_, plan := loadPlan(t, columnsYAML(fields), nil)
		return newEngine(t, pool, plan, &memSink{docs: map[string]sinks.Doc{}}, nil)
	}
	missing := func(eng *projector.Engine) []string {
		return eng.MissingColumns(eng.Plan().Views[0])
	}
	const narrow = `{ id: id, name: name }`
	const wide = `{ id: id, name: name, color: color, owner: { one: owners, on: { id: owner }, fields: { city: city } } }`

	// Empty state: whatever the view reads, every row will hold it.
	if got := missing(start(wide)); len(got) != 0 {
		t.Fatalf("empty state: missing %v, want none", got)
	}
	eng := start(narrow)
	if got := missing(eng); len(got) != 0 {
		t.Fatalf("narrow view: missing %v, want none", got)
	}
	var recs []projector.Record
	for i := range 3 {
		recs = append(recs, projector.Record{Topic: "cqrs.public.items", Offset: int64(i), Key: fmt.Appendf(nil, `{"id":"i%d"}`, i),
			Value: fmt.Appendf(nil, `{"op":"c","source":{"connector":"postgresql","lsn":%d},"after":{"id":"i%d","name":"n","color":"red","owner":"o1"}}`, 10+i, i)})
	}
	recs = append(recs, projector.Record{Topic: "cqrs.public.owners", Offset: 0, Key: []byte(`{"id":"o1"}`),
		Value: []byte(`{"op":"c","source":{"connector":"postgresql","lsn":20},"after":{"id":"o1","name":"Ada","city":"Paris"}}`)})
	if dead, err := eng.Process(ctx, recs); err != nil || len(dead) > 0 {
		t.Fatalf("process: %v %v", err, dead)
	}

	// The state has rows without color, owner (items) and city (owners).
	want := []string{"items.color", "items.owner", "owners.city"}
	wideEng := start(wide)
	if got := missing(wideEng); !slices.Equal(got, want) {
		t.Fatalf("after widening: missing %v, want %v", got, want)
	}
	if got := missing(start(wide)); !slices.Equal(got, want) {
		t.Fatalf("a second start: missing %v, want %v (only a re-read fills them)", got, want)
	}
	if err := wideEng.Reread(ctx, wideEng.Plan().Sources); err != nil {
		t.Fatal(err)
	}
	if got := missing(wideEng); len(got) != 0 {
		t.Fatalf("after a re-read: missing %v, want none", got)
	}
	if got := missing(start(wide)); len(got) != 0 {
		t.Fatalf("a start after the re-read: missing %v, want none", got)
	}
	// An instance keeping fewer columns writes rows without them.
	start(narrow)
	if got := missing(start(wide)); !slices.Equal(got, want) {
		t.Fatalf("after a narrow instance started: missing %v, want %v", got, want)
	}
}

// TestRenamedSourceWarned: a source renamed in the configuration (same
// topic) starts from an empty state table, and every view joining it
// misses its rows until a rebuild that reads the sources again; the start
// says so, naming the old source and the table to rename.
func TestRenamedSourceWarned(t *testing.T) {
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
	start := func(name string) (*projector.Engine, *bytes.Buffer) {
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
		return eng, &logs
	}
	eng, _ := start("owners")
	if dead, err := eng.Process(ctx, []projector.Record{{Topic: "cqrs.public.owners", Key: []byte(`{"id":"o1"}`),
		Value: []byte(`{"op":"c","source":{"connector":"postgresql","lsn":10},"after":{"id":"o1","name":"Ada"}}`)}}); err != nil || len(dead) > 0 {
		t.Fatalf("process: %v %v", err, dead)
	}
	if _, logs := start("owners"); strings.Contains(logs.String(), "no longer declared") {
		t.Errorf("a start with the same file warned of a rename: %s", logs)
	}
	_, logs := start("people")
	if !strings.Contains(logs.String(), "source people reads topic cqrs.public.owners, whose rows the state of source owners") ||
		!strings.Contains(logs.String(), "RENAME TO") || !strings.Contains(logs.String(), "state_people") {
		t.Errorf("the renamed source was not warned of: %s", logs)
	}
}
