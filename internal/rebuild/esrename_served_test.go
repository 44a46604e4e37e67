package rebuild

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks/elasticsearch/esfake"
)

// TestRenamedIndexNotMadeAgainByTheOldFile: a rebuild with a file that
// renamed the view's index (items → products) swapped generation 2 in, as
// products-g2. A later rebuild --from source with the file before the
// rename makes sure the served generation's index exists before it writes
// the sources' rows there: it must look for products-g2, the index the
// registry recorded, and not create items-g2, an index under its own name
// that no alias points to and no registry row drops.
func TestRenamedIndexNotMadeAgainByTheOldFile(t *testing.T) {
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
	if got := esGet(t, es.URL()+"/_alias/products"); !strings.Contains(got, `"products-g2"`) {
		t.Fatalf("alias products after the swap: %s", got)
	}

	srcPool, srcURL := testenv.Postgres(t)
	if _, err := srcPool.Exec(ctx, `CREATE TABLE public.items (id bigint PRIMARY KEY, name text, qty bigint);
		INSERT INTO public.items SELECT g, 'item-' || g, g FROM generate_series(1, 5) g;`); err != nil {
		t.Fatal(err)
	}
	old := f.openEnv() // the file before the rename
	if _, err := Run(ctx, old, Options{View: "item_view", From: "source", Keep: time.Hour,
		SourceURLs: map[string]string{"items": srcURL}, WaitTimeout: 5 * time.Second}); err != nil {
		t.Logf("rebuild --from source with the old file: %v", err) // refusing it is fine too
	}
	if got := esGet(t, es.URL()+"/items-g2"); !strings.Contains(got, "index_not_found_exception") {
		t.Errorf("the old file's rebuild created items-g2, an index no alias points to and no registry row records: %s", got)
	}
}
