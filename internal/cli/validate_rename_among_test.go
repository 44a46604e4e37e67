package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestValidateAmbiguousRenameOffersNoStatement: items renamed goods,
// goods filled since, then goods renamed stock before any re-read: both
// old tables hold rows of the topic and neither holds them as they are
// now, so validate names them, says a re-read is needed, and gives
// neither a rename nor a drop.
func TestValidateAmbiguousRenameOffersNoStatement(t *testing.T) {
	pgURL := testenv.PostgresURL(t)
	items := itemsConfig(pgURL, "", "id: id, name: name, qty: qty", "item_view")
	rename := func(to string) string {
		return strings.Replace(strings.Replace(items, "  items:\n    topic:", "  "+to+":\n    topic:", 1), "from: items", "from: "+to, 1)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	fill := func(table string, ids string) {
		t.Helper()
		if _, err := conn.Exec(ctx, `INSERT INTO projector.`+table+` (key, data, pos_hi, pos_lo)
			SELECT g::text, jsonb_build_object('id', g, 'name', 'item-' || g, 'qty', g), 0, g FROM generate_series(`+ids+`) g`); err != nil {
			t.Fatal(err)
		}
	}
	deployConfig(t, items)
	fill("state_items", "1, 5")
	deployConfig(t, rename("goods"))
	fill("state_goods", "3, 8")
	deployConfig(t, rename("stock"))

	_, out, _ := run(t, "validate", "-c", writeConfig(t, rename("stock")))
	for _, table := range []string{`"projector"."state_items"`, `"projector"."state_goods"`} {
		want := "note: state: table " + table
		if !strings.Contains(out, want) {
			t.Errorf("validate does not name %s:\n%s", table, out)
		}
	}
	if !strings.Contains(out, "no statement keeps them") || !strings.Contains(out, "the views of stock miss these rows until rebuilt --from source, kafka or signal") {
		t.Errorf("validate does not say the rows need a re-read, with no statement:\n%s", out)
	}
	if strings.Contains(out, "ALTER TABLE") || strings.Contains(out, "DROP TABLE") {
		t.Errorf("validate offers a statement for an ambiguous rename:\n%s", out)
	}
}
