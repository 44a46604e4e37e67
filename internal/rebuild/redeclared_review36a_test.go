package rebuild

// Day-2: a view taken out of the file and put back (README, "Changing a
// view in a running deployment": "Views recorded but no longer declared
// ... keep serving the documents they had, frozen").

import (
	"context"
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/stack"
)

const r36aOtherView = `  other_view:
    from: items
    fields: { id: id, name: name }
    sinks:
      postgres: { table: other_view }
`

// TestR36aRedeclaredViewStaysFrozenSilently: other_view is deployed, then
// taken out of the file (a start warns that its documents stay frozen),
// and while it is out its rows change: item 1 is deleted, item 2 renamed.
// Put back unchanged, its recorded definition is the current one, so the
// start warns of nothing and validate (CompareDefinitions) finds nothing
// to rebuild; yet the documents frozen while it was out stay as they were
// for good: document 1 of a deleted row, and item 2 under its old name,
// until that row happens to change again (DESIGN 7: once the stream is
// quiet every view equals a join over the final source rows).
//
// Expected: a view put back after its documents were frozen is told as
// needing `projector rebuild other_view` at start and by validate (as a
// changed definition is), since the registry knows it was undeclared.
func TestR36aRedeclaredViewStaysFrozenSilently(t *testing.T) {
	ctx := context.Background()
	withOther := strings.Replace(itemsYAML, "      elasticsearch: { index: items }\n",
		"      elasticsearch: { index: items }\n"+r36aOtherView, 1)
	f := newFixture(t)
	f.edit(withOther)
	d := f.startDaemon()
	f.seed(d, 1, 5)
	d.stop()

	f.edit(itemsYAML) // other_view taken out
	d = f.startDaemon()
	if err := d.apply(ctx, map[int64]*item{1: nil, 2: {Name: "renamed", Qty: 2}}); err != nil {
		t.Fatal(err)
	}
	d.stop()

	f.edit(withOther) // and put back as it was
	logs := f.restart()
	var stale int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM other_view WHERE id = 1 OR (id = 2 AND name <> 'renamed')`).Scan(&stale); err != nil {
		t.Fatal(err)
	}
	if stale == 0 {
		return // the documents follow the rows: nothing to warn of
	}
	if !strings.Contains(logs, "other_view") {
		t.Errorf("other_view put back holds %d documents its rows no longer give (deleted item 1, item 2's old name), "+
			"and the start warned of nothing about it:\n%s", stale, logs)
	}
	drift, err := stack.CompareDefinitions(ctx, f.openEnv().Registry, f.cfg, f.plan)
	if err != nil {
		t.Fatal(err)
	}
	needs := false
	for _, c := range drift.Changes {
		needs = needs || c.View == "other_view" && c.NeedsRebuild()
	}
	if !needs {
		t.Errorf("validate's comparison finds nothing for other_view to rebuild (changes %+v): `projector validate` says ok", drift.Changes)
	}
}

// TestR36aSinkPutBackStaysFrozenSilently: the same for one sink. The
// PostgreSQL sink of item_view is taken out of the file (a start notes
// "postgres sink removed (table public.item_view keeps the documents it
// had)", needing no rebuild, so the recorded definition keeps the sink),
// rows change meanwhile, and the sink is put back: the recorded definition
// equals the file again, so the start and validate say nothing, while the
// table serves the documents of before (item 1 deleted since, item 2
// renamed) until each row changes again.
//
// Expected: putting the sink back is told as "postgres sink added ...:
// needs a rebuild" (as for a sink the view never had), or the table's
// documents follow the rows.
func TestR36aSinkPutBackStaysFrozenSilently(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	d := f.startDaemon()
	f.seed(d, 1, 5)
	d.stop()

	f.edit(itemsYAML, "      postgres: { table: item_view }\n", "") // the PostgreSQL sink taken out
	f.restart()                                                     // notes "postgres sink removed (table public.item_view keeps the documents it had)"
	d = f.startDaemon()
	if err := d.apply(ctx, map[int64]*item{1: nil, 2: {Name: "renamed", Qty: 2}}); err != nil {
		t.Fatal(err)
	}
	d.stop()

	f.edit(itemsYAML) // and put back
	logs := f.restart()
	var stale int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM item_view WHERE id = 1 OR (id = 2 AND name <> 'renamed')`).Scan(&stale); err != nil {
		t.Fatal(err)
	}
	if stale == 0 {
		return
	}
	if !strings.Contains(logs, "item_view") {
		t.Errorf("the PostgreSQL table of item_view, its sink put back, holds %d documents its rows no longer give, and the start warned of nothing:\n%s", stale, logs)
	}
	drift, err := stack.CompareDefinitions(ctx, f.openEnv().Registry, f.cfg, f.plan)
	if err != nil {
		t.Fatal(err)
	}
	if len(drift.Changes) == 0 {
		t.Errorf("validate's comparison finds no change for item_view: `projector validate` says ok")
	}
}

// TestR36aNewViewOverFilledStateSilent: a view added to the file of a
// running deployment, over a source whose state holds rows. Its first
// start records its definition as the one its documents follow and warns
// of nothing, and validate says ok; yet no document exists for any row
// that does not change again (none of the 5 items here). A table renamed
// in the file is the same situation ("a new PostgreSQL table starts
// empty"), and every start warns of it until `projector rebuild VIEW`;
// README: "nothing recomputes the documents no change touches: until
// `projector rebuild VIEW`".
//
// Expected: the start warns, naming the view, that its documents exist
// only for rows changed from now on until `projector rebuild other_view`
// (and validate says so in a note), or the view is filled.
func TestR36aNewViewOverFilledStateSilent(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	d := f.startDaemon()
	f.seed(d, 1, 5)
	d.stop()

	f.edit(strings.Replace(itemsYAML, "      elasticsearch: { index: items }\n",
		"      elasticsearch: { index: items }\n"+r36aOtherView, 1))
	logs := f.restart()
	var n int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM other_view`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n == 5 {
		return // filled
	}
	if !strings.Contains(logs, "other_view") {
		t.Errorf("other_view, added over a state of 5 items, holds %d documents, and the start warned of nothing:\n%s", n, logs)
	}
}
