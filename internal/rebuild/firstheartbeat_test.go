package rebuild

import (
	"context"
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/stack"
)

// putBackWarning is what a start says of other_view while it is marked as
// missing the changes of an instance whose file lacks it.
const putBackWarning = "view other_view put back after a start without it"

// TestSwapKeepsMarkOfInstanceNotYetHeartbeating: an instance of a rolling
// deploy on the file without other_view records so at its start, but is
// known to be running only from its first heartbeat. A rebuild whose swap
// falls in between clears the mark without seeing the instance; the
// instance records it again at its first heartbeat, on the definition the
// swap recorded.
func TestSwapKeepsMarkOfInstanceNotYetHeartbeating(t *testing.T) {
	ctx := context.Background()
	f := newFixtureYAML(t, otherViewYAML, "", "")
	d := f.startDaemon()
	f.seed(d, 1, 3)
	d.stop()

	f.edit(itemsYAML)
	st, err := stack.Wire(ctx, f.cfg, f.plan, nil) // started, no heartbeat yet
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f.edit(otherViewYAML)
	f.rebuildLogged("other_view")
	w, err := Watch(ctx, st, WatchOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if logs := f.restart(); !strings.Contains(logs, putBackWarning) {
		t.Errorf("start after a swap made before the instance without other_view sent its first heartbeat: logs\n%s\nwant %q", logs, putBackWarning)
	}
}
