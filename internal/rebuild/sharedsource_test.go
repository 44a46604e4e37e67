package rebuild

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/testenv"
)

// twoViewsYAML has two views over the same source.
var twoViewsYAML = itemsYAML + `
  item_view2:
    from: items
    fields: { id: id, name: name, qty: qty }
    sinks:
      postgres: { table: item_view2 }
`

// onPhase runs fn, once, when the rebuild enters a phase.
type onPhase struct {
	phase string
	once  *sync.Once
	fn    func()
}

func (o onPhase) Phase(name string, _ int64) {
	if name == o.phase {
		o.once.Do(o.fn)
	}
}
func (onPhase) Add(int64) {}
func (onPhase) Done()     {}

func (f *fixture) readerRowsOf(ctx context.Context, table string) map[int64]item {
	f.t.Helper()
	rows, err := f.pool.Query(ctx, `SELECT id, name, qty FROM `+table)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]item{}
	for rows.Next() {
		var id int64
		var it item
		if err := rows.Scan(&id, &it.Name, &it.Qty); err != nil {
			f.t.Fatal(err)
		}
		out[id] = it
	}
	return out
}

// TestSourceReReadHoldsViewsSharingTheSource: a rebuild --from source of
// item_view applies the re-read rows to the shared state, and so to
// item_view2 as well, through the routes of the moment it started. A
// rebuild of item_view2 meanwhile (which would swap or drop the generation
// those routes write to) is refused, naming the rebuild it waits for; once
// the re-read is over, item_view2's readers see its changes and item_view2
// can be rebuilt.
func TestSourceReReadHoldsViewsSharingTheSource(t *testing.T) {
	f := newFixtureYAML(t, twoViewsYAML, "", "")
	d := f.startDaemon()
	ctx := context.Background()
	srcPool, srcURL := testenv.Postgres(t)
	if _, err := srcPool.Exec(ctx, `CREATE TABLE public.items (id bigint PRIMARY KEY, name text, qty bigint);
		INSERT INTO public.items SELECT g, 'item-' || g, g FROM generate_series(1, 20) g;
		UPDATE public.items SET name = 'renamed', qty = 50 WHERE id = 5;
		DELETE FROM public.items WHERE id = 7;`); err != nil {
		t.Fatal(err)
	}
	f.seed(d, 1, 20)

	envA, envB := f.openEnv(), f.openEnv()
	var berr error
	other := onPhase{phase: "source", once: &sync.Once{}, fn: func() {
		// Another operator rebuilds the other view, which shares the source.
		_, berr = Run(ctx, envB, Options{View: "item_view2", Keep: 0})
	}}
	if _, err := Run(ctx, envA, Options{View: "item_view", From: "source", Keep: time.Hour, Chunk: 50,
		SourceURLs: map[string]string{"items": srcURL}, Progress: other}); err != nil {
		t.Fatalf("rebuild --from source of item_view: %v", err)
	}
	if !errors.Is(berr, ErrInProgress) || !strings.Contains(berr.Error(), "item_view2") {
		t.Fatalf("rebuild of item_view2 during the re-read: %v, want ErrInProgress naming the view", berr)
	}
	check := func(when string) {
		got := f.readerRowsOf(ctx, "item_view2")
		if g := got[5]; g.Name != "renamed" || g.Qty != 50 {
			t.Errorf("%s: item_view2 readers see document 5 = %+v, want the re-read {renamed 50}", when, g)
		}
		if g, ok := got[7]; ok {
			t.Errorf("%s: item_view2 readers still see document 7 = %+v, deleted by the re-read", when, g)
		}
	}
	check("after the re-read")
	if _, err := Run(ctx, envB, Options{View: "item_view2", Keep: 0}); err != nil {
		t.Fatalf("rebuild of item_view2 after the re-read: %v", err)
	}
	check("after item_view2's rebuild")
}
