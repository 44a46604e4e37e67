package rebuild

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestRebuildWarnsWhenNoInstanceComputesTheView: a rebuild of a view that
// the running daemons' file does not have yet is right (deploy the file
// after), but once swapped, its documents follow no change until a daemon
// computes it: the rebuild says so. One of a view they compute does not.
func TestRebuildWarnsWhenNoInstanceComputesTheView(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	d := f.startDaemon()
	defer d.stop()
	f.seed(d, 1, 5)
	f.edit(itemsYAML, "views:\n", `views:
  name_view:
    from: items
    fields: { id: id, name: name }
    sinks:
      postgres: { table: name_view }
`)
	rebuild := func(view string) string {
		t.Helper()
		var logs testenv.Logs
		env, err := Open(ctx, f.cfg, f.plan, slog.New(slog.NewTextHandler(&logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		defer env.Close()
		if _, err := Run(ctx, env, Options{View: view, Keep: 0}); err != nil {
			t.Fatalf("rebuild %s: %v", view, err)
		}
		return logs.String()
	}
	const warning = "no running projector run has this view"
	if logs := rebuild("name_view"); !strings.Contains(logs, warning) || !strings.Contains(logs, "view=name_view") {
		t.Errorf("rebuild of a view no daemon computes: logs\n%s\nwant the warning %q", logs, warning)
	}
	if logs := rebuild("item_view"); strings.Contains(logs, warning) {
		t.Errorf("rebuild of a view the daemon computes: logs\n%s\nwant no warning", logs)
	}
}
