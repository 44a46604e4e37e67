package rebuild

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestRebuildFromStateAfterAmbiguousRenameOffersNoStatement: items is
// renamed goods, goods takes changes of its own, then goods is renamed
// stock with no re-read between: state_items and state_goods both hold
// rows of the topic and neither holds them as they are now. A rebuild from
// the state is refused as after any rename, but offers no statement that
// would put one of them in place (either would serve some rows out of
// date): only a re-read makes the view whole.
func TestRebuildFromStateAfterAmbiguousRenameOffersNoStatement(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	d := f.startDaemon()
	f.seed(d, 1, 5)
	d.stop()

	rename := func(to string) string {
		return strings.Replace(strings.Replace(itemsYAML, "  items:\n    topic: shop.public.items", "  "+to+":\n    topic: shop.public.items", 1),
			"from: items", "from: "+to, 1)
	}
	f.edit(rename("goods"))
	d = f.startDaemon()
	f.seed(d, 6, 3)
	d.stop()
	f.edit(rename("stock"))
	wantWarning(t, f.restart(), "source stock")

	_, err := Run(ctx, f.openEnv(), Options{View: "item_view", Keep: 0})
	if !errors.Is(err, ErrRenamedSource) {
		t.Fatalf("rebuild from the state after two renames: %v, want ErrRenamedSource", err)
	}
	if msg := err.Error(); strings.Contains(msg, "ALTER TABLE") || !strings.Contains(msg, "no old table can be told") {
		t.Errorf("the refusal offers a statement for an ambiguous rename, or does not say why none: %v", err)
	}
}
