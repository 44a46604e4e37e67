// Package sinktest is the behaviour suite every sink runs: the rev guard,
// tombstones, duplicates within a batch, large batches, awkward values,
// concurrent writers and partial failure. A sink's own test maps the suite's
// View to its store's view type and hands Run a Setup; the suite only writes
// docs and reads them back, so it knows nothing of any store.
package sinktest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/projectorhq/projector/sinks"
)

// Reader reads back what a sink stored, as a reader of that store sees it.
type Reader interface {
	// Get returns the doc's fields as stored (JSON-decoded with UseNumber),
	// or found=false.
	Get(ctx context.Context, view, id string, key map[string]any) (fields map[string]any, found bool, err error)
}

// Sink is the part of a sink the suite exercises (the engine's interface,
// repeated here because sinks never import the engine).
type Sink interface {
	Name() string
	Write(ctx context.Context, docs []sinks.Doc) error
}

// Setup tells the suite how to build the sink under test.
type Setup struct {
	// New returns a fresh sink configured with the suite's view (see View),
	// and a Reader. Every case passes a view with its own Name, so stores
	// may be shared between cases as long as views are kept apart.
	New func(t *testing.T, v View) (Sink, Reader)
}

// View is the suite's view description; each sink test maps it to its own
// view type. Field types are SQL type names as a view definition spells
// them: bigint, text, numeric, boolean, jsonb.
type View struct {
	Name   string
	ID     []string
	Fields []Field
}

// Field is one top-level field of the suite's view.
type Field struct {
	Name, Type string
}

// Fields of the suite's view. Every doc the suite writes uses only these.
var suiteFields = []Field{
	{Name: "id", Type: "bigint"},
	{Name: "name", Type: "text"},
	{Name: "amount", Type: "numeric"},
	{Name: "qty", Type: "bigint"},
	{Name: "active", Type: "boolean"},
	{Name: "attrs", Type: "jsonb"},
	{Name: "tags", Type: "jsonb"},
	{Name: "note", Type: "text"},
}

// staleCounter is implemented by sinks that count skipped stale writes.
type staleCounter interface{ Stale() uint64 }

// Run runs every case of the suite as a subtest of t.
func Run(t *testing.T, s Setup) {
	t.Helper()
	if s.New == nil {
		t.Fatal("sinktest: Setup.New is nil")
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := View{Name: "suite_" + c.view, ID: []string{"id"}, Fields: suiteFields}
			sink, reader := s.New(t, v)
			c.run(t, &env{t: t, view: v.Name, sink: sink, reader: reader})
		})
	}
}

type testCase struct {
	name string
	view string // unique per case: the suite's view name is "suite_" + view
	run  func(t *testing.T, e *env)
}

// env is one case's sink, reader and view, with helpers to write and check.
type env struct {
	t      *testing.T
	view   string
	sink   Sink
	reader Reader
}

func (e *env) ctx() context.Context { return e.t.Context() }

// upsert is the doc with the suite's content for (id, rev).
func (e *env) upsert(id, rev int64) sinks.Doc {
	return e.doc(id, rev, content(id, rev))
}

func (e *env) doc(id, rev int64, fields map[string]any) sinks.Doc {
	return sinks.Doc{View: e.view, ID: idString(id), Key: key(id), Rev: rev, Fields: fields}
}

func (e *env) deletion(id, rev int64) sinks.Doc {
	return sinks.Doc{View: e.view, ID: idString(id), Key: key(id), Rev: rev, Deleted: true}
}

// write writes docs and fails the test on any error.
func (e *env) write(docs ...sinks.Doc) {
	e.t.Helper()
	if err := e.sink.Write(e.ctx(), docs); err != nil {
		e.t.Fatalf("%s: Write(%d docs): %v", e.sink.Name(), len(docs), err)
	}
}

// expect checks that the doc id reads back as want (nil: not found).
func (e *env) expect(id int64, want map[string]any) {
	e.t.Helper()
	got, found, err := e.reader.Get(e.ctx(), e.view, idString(id), key(id))
	if err != nil {
		e.t.Fatalf("Get(%d): %v", id, err)
	}
	switch {
	case want == nil && found:
		e.t.Fatalf("doc %d: found %s, want no doc", id, show(got))
	case want != nil && !found:
		e.t.Fatalf("doc %d: not found, want %s", id, show(want))
	case want != nil && !Equal(got, want):
		e.t.Fatalf("doc %d:\n got %s\nwant %s", id, show(got), show(want))
	}
}

func (e *env) stale() (uint64, bool) {
	c, ok := e.sink.(staleCounter)
	if !ok {
		return 0, false
	}
	return c.Stale(), true
}

func key(id int64) map[string]any { return map[string]any{"id": json.Number(idString(id))} }

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "(unprintable: " + err.Error() + ")"
	}
	return string(b)
}
