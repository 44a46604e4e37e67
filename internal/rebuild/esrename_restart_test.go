package rebuild

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/projectorhq/projector/sinks/elasticsearch/esfake"
)

// TestRenamedIndexKeptByARestartedOldDaemon: after a rebuild with a file
// that renamed the view's index (items → products) swapped generation 2
// in as products-g2, a daemon still on the file before the rename
// restarts. It must keep writing the generation the registry serves,
// products-g2, and create nothing under its own file's name: items-g2
// would be an index no alias points to and no registry row drops.
func TestRenamedIndexKeptByARestartedOldDaemon(t *testing.T) {
	es := esfake.New()
	es.Start()
	t.Cleanup(es.Close)
	f := newFixtureWith(t, "", es.URL())
	d := f.startDaemon() // the file before the rename: index items
	f.seed(d, 1, 5)
	ctx := context.Background()

	renamed := renamedIndexEnv(t, f, es.URL())
	if _, err := Run(ctx, renamed, Options{View: "item_view", Keep: time.Hour}); err != nil {
		t.Fatalf("rebuild with the renamed index: %v", err)
	}

	d.stop()
	lsn, offset := d.lsn, d.offset
	d = f.startDaemon()           // the old file again
	d.lsn, d.offset = lsn, offset // the source goes on from where it was
	if err := d.apply(ctx, map[int64]*item{3: {Name: "changed-after-restart", Qty: 33}}); err != nil {
		t.Fatal(err)
	}
	if got := esGet(t, es.URL()+"/items-g2"); !strings.Contains(got, "index_not_found_exception") {
		t.Errorf("the restarted daemon on the old file created items-g2, an index no alias points to and no registry row records: %s", got)
	}
	esGet(t, es.URL()+"/products/_refresh")
	if got := esGet(t, es.URL()+"/products/_doc/3"); !strings.Contains(got, "changed-after-restart") {
		t.Errorf("readers of alias products miss a change the restarted daemon made: %s", got)
	}
}
