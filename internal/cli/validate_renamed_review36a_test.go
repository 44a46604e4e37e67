package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestR36aValidateRenamedSourceSaysDropItsRows: the operator renames
// source items to goods in the file (the same topic), and runs `projector
// validate` on the edited file first, as README advises. README
// ("Changing a view"): "A source renamed in the file (the same topic) gets
// a new, empty state table (projector.state_<name>): run warns naming the
// old source, whose table to rename (with every instance stopped) to keep
// its rows; otherwise its views miss them until rebuilt --from source,
// kafka or signal".
//
// validate says "view item_view: definition: from: goods (was items):
// needs a rebuild ... run `projector rebuild VIEW`" — which, from the
// state, swaps in an empty generation (TestR36aRebuildAfterSourceRename-
// EmptiesView in internal/rebuild) — and its only word on the old state is
// the leftover note "table projector.state_items (a source no longer
// declared) ... DROP TABLE projector.state_items": it tells the operator to
// drop the very rows the renamed source's views need, which run's warning
// says to keep (ALTER TABLE ... RENAME TO state_goods). Nothing names the
// rename.
//
// Expected: validate tells the rename (naming both sources and the ALTER
// TABLE ... RENAME TO state_goods that keeps the rows, or a rebuild --from
// source, kafka or signal), as run does, and does not offer DROP TABLE
// for the state table of which a declared source of the same topic is the
// rename.
func TestR36aValidateRenamedSourceSaysDropItsRows(t *testing.T) {
	pgURL := testenv.PostgresURL(t)
	deployed := itemsConfig(pgURL, "", "id: id, name: name, qty: qty", "item_view")
	deployConfig(t, deployed)
	conn, err := pgx.Connect(context.Background(), pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `INSERT INTO projector.state_items (key, data, pos_hi, pos_lo)
		SELECT g::text, jsonb_build_object('id', g, 'name', 'item-' || g, 'qty', g), 0, g FROM generate_series(1, 5) g`); err != nil {
		t.Fatal(err)
	}

	renamed := strings.Replace(strings.Replace(deployed, "  items:\n    topic: shop.public.items", "  goods:\n    topic: shop.public.items", 1),
		"from: items", "from: goods", 1)
	if renamed == deployed || !strings.Contains(renamed, "from: goods") {
		t.Fatal("the rename did not apply to the configuration")
	}
	code, out, errs := run(t, "validate", "-c", writeConfig(t, renamed))
	if strings.Contains(out, `DROP TABLE "projector"."state_items"`) {
		t.Errorf("validate offers to drop the rows of the source renamed to goods (same topic shop.public.items), "+
			"which run's warning says to keep with ALTER TABLE ... RENAME TO state_goods:\n%s", out)
	}
	if !strings.Contains(out+errs, `"state_goods"`) {
		t.Errorf("validate does not tell the rename (exit %d): item_view starts from an empty state_goods and misses its 5 rows until rebuilt\nstdout: %s\nstderr: %s",
			code, out, errs)
	}
}
