package rebuild

import (
	"context"
	"strings"
	"testing"
)

// r37aTwoViews is itemsYAML with other_view, a second view of items in
// PostgreSQL only.
var r37aTwoViews = itemsYAML + `  other_view:
    from: items
    fields: { id: id, name: name }
    sinks:
      postgres: { table: other_view }
`

// TestR37aSwapClearsMarkOfLiveInstanceWithoutView: other_view is taken
// out of the file of one daemon (B) of a rolling deploy, then put back.
// B's start recorded other_view stale; every start with it put back says
// it needs `projector rebuild other_view`, and the operator runs it — B
// still running the file without it. The rebuild neither refuses nor
// warns (B's heartbeat names the views it computes: other_view is not
// among them), and its swap clears the mark. B then applies a change of
// item 1, which other_view never gets: its document keeps the old name,
// and no start, validate or rebuild says anything any more. The mark (or
// the rebuild) must account for a live instance not writing the view:
// refuse while one runs, as for one computing another definition, or
// keep the mark.
func TestR37aSwapClearsMarkOfLiveInstanceWithoutView(t *testing.T) {
	ctx := context.Background()
	f := newFixtureYAML(t, r37aTwoViews, "", "")
	d := f.startDaemon()
	f.seed(d, 1, 3)
	d.stop()

	f.edit(itemsYAML)
	b := f.startDaemon() // a daemon of the rolling deploy on the file without other_view
	b.lsn = 1 << 20      // after the seeded changes
	f.edit(r37aTwoViews)
	logs := f.restart()
	if !strings.Contains(logs, "other_view put back") {
		t.Fatalf("the start with other_view put back did not say it needs a rebuild:\n%s", logs)
	}
	a := f.startDaemon()
	_, err := Run(ctx, f.openEnv(), Options{View: "other_view", Keep: 0})
	if err != nil {
		return // refused while an instance does not write the view: right
	}
	if err := b.apply(ctx, map[int64]*item{1: {Name: "renamed-by-b", Qty: 1}}); err != nil {
		t.Fatal(err)
	}
	b.stop()
	a.stop()
	var name string
	if err := f.pool.QueryRow(ctx, `SELECT name FROM other_view WHERE id = 1`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	var item string
	if err := f.pool.QueryRow(ctx, `SELECT name FROM item_view WHERE id = 1`).Scan(&item); err != nil {
		t.Fatal(err)
	}
	logs = f.restart()
	if name != "renamed-by-b" && !strings.Contains(logs, "other_view") {
		t.Errorf("rebuild other_view went ahead while daemon B, whose file lacks it, ran; its swap cleared the mark, B then changed item 1 "+
			"(item_view: %q) and other_view still says %q, and the next start says nothing:\n%s", item, name, logs)
	}
}
