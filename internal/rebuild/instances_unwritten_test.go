package rebuild

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
)

// rebuildLogged rebuilds view with the fixture's file, returning what it
// logged.
func (f *fixture) rebuildLogged(view string) string {
	f.t.Helper()
	var logs testenv.Logs
	env, err := Open(context.Background(), f.cfg, f.plan, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		f.t.Fatal(err)
	}
	defer env.Close()
	if _, err := Run(context.Background(), env, Options{View: view, Keep: 0}); err != nil {
		f.t.Fatalf("rebuild %s: %v", view, err)
	}
	return logs.String()
}

// otherViewYAML is itemsYAML with other_view, a second view of items.
const otherViewYAML = itemsYAML + `  other_view:
    from: items
    fields: { id: id, name: name }
    sinks:
      postgres: { table: other_view }
`

// TestSwapKeepsViewMarkedWhileAnInstanceRunsWithoutIt: other_view is put
// back while an instance of a rolling deploy still runs the file without
// it. Its documents miss every change that instance applies, after the
// rebuild's swap as before: the rebuild warns naming it, and the swap
// keeps the view recorded as needing a rebuild, which every start tells.
// Rebuilt once no such instance runs, the mark is gone.
func TestSwapKeepsViewMarkedWhileAnInstanceRunsWithoutIt(t *testing.T) {
	f := newFixtureYAML(t, otherViewYAML, "", "")
	d := f.startDaemon()
	f.seed(d, 1, 3)
	d.stop()
	f.edit(itemsYAML)
	b := f.startDaemon()
	f.edit(otherViewYAML)
	defer f.startDaemon().stop() // one instance already on the file

	const putBack = "view other_view put back after a start without it"
	if logs := f.rebuildLogged("other_view"); !strings.Contains(logs, b.watcher.opts.ID) || !strings.Contains(logs, "runs a file without the view") {
		t.Errorf("rebuild while an instance runs a file without the view: logs\n%s\nwant a warning naming %s", logs, b.watcher.opts.ID)
	}
	if logs := f.restart(); !strings.Contains(logs, putBack) {
		t.Errorf("start after that rebuild: logs\n%s\nwant %q", logs, putBack)
	}
	b.stop()
	if logs := f.rebuildLogged("other_view"); strings.Contains(logs, "without the view") {
		t.Errorf("rebuild once every instance has the view: logs\n%s\nwant no warning", logs)
	}
	if logs := f.restart(); strings.Contains(logs, "other_view") {
		t.Errorf("start after the rebuild with every instance on the file: logs\n%s\nwant nothing of other_view", logs)
	}
}

// TestSwapKeepsSinkMarkedWhileAnInstanceDoesNotWriteIt: the same for a
// sink: an instance runs a file whose view has no Redis sink while the
// view is rebuilt with one; the swap keeps the sink recorded as needing a
// rebuild until one with no such instance running.
func TestSwapKeepsSinkMarkedWhileAnInstanceDoesNotWriteIt(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	f.seed(d, 1, 3)
	d.stop()
	const redisSink = "      redis: { key: \"${PREFIX}item:{id}\" }\n"
	f.edit(itemsYAML, redisSink, "")
	b := f.startDaemon()
	f.edit(itemsYAML)

	const putBack = "redis sink put back after a start that did not write it"
	if logs := f.rebuildLogged("item_view"); !strings.Contains(logs, b.watcher.opts.ID) || !strings.Contains(logs, "does not write the view to redis") {
		t.Errorf("rebuild while an instance does not write the view to redis: logs\n%s\nwant a warning naming %s", logs, b.watcher.opts.ID)
	}
	if logs := f.restart(); !strings.Contains(logs, putBack) {
		t.Errorf("start after that rebuild: logs\n%s\nwant %q", logs, putBack)
	}
	b.stop()
	if logs := f.rebuildLogged("item_view"); strings.Contains(logs, "does not write") {
		t.Errorf("rebuild once every instance writes redis: logs\n%s\nwant no warning", logs)
	}
	if logs := f.restart(); strings.Contains(logs, putBack) {
		t.Errorf("start after the rebuild with every instance on the file: logs\n%s\nwant no %q", logs, putBack)
	}
}
