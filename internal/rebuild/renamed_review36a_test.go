package rebuild

import (
	"context"
	"strings"
	"testing"
)

// TestR36aRebuildAfterSourceRenameEmptiesView: the source items is renamed
// goods in the file (the same topic). README: "A source renamed in the
// file (the same topic) gets a new, empty state table: run warns naming
// the old source, whose table to rename (with every instance stopped) to
// keep its rows; otherwise its views miss them until rebuilt --from
// source, kafka or signal". validate reports item_view as "definition:
// from: goods (was items): needs a rebuild" and says "run `projector
// rebuild VIEW`"; the operator runs it, from the state (the default).
//
// The rebuild finds state_goods empty (trackColumns: "an empty state holds
// every column", so nothing is missing), fills a generation of no
// document, verifies it against that empty state and swaps it in: every
// reader of item_view, which served 5 documents, now sees none, and the
// registry records the new definition as followed, so no start warns of
// the view again. Readers "never see a missing document" (README,
// Rebuild without downtime) — here they lose them all.
//
// Expected: a rebuild from the state refuses a view whose source's state
// is empty while a source no longer declared, recorded reading the same
// topic, holds rows (what run's renamedSources detects), naming the
// rename and --from source, kafka or signal; or it keeps the documents.
func TestR36aRebuildAfterSourceRenameEmptiesView(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	d := f.startDaemon()
	f.seed(d, 1, 5)
	d.stop()

	renamed := strings.Replace(strings.Replace(itemsYAML, "  items:\n    topic: shop.public.items", "  goods:\n    topic: shop.public.items", 1),
		"from: items", "from: goods", 1)
	f.edit(renamed)
	wantWarning(t, f.restart(), "source goods reads topic shop.public.items, whose rows the state of source items")
	res, err := Run(ctx, f.openEnv(), Options{View: "item_view", Keep: 0})
	if err != nil {
		t.Logf("rebuild from the state refused: %v", err)
		return
	}
	rows, err := f.readerRows(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 {
		t.Errorf("after `projector rebuild item_view` (generation %d, %d documents filled) following the source's rename, "+
			"PostgreSQL readers see %d documents, where they saw 5", res.Generation, res.Filled, len(rows))
	}
}
