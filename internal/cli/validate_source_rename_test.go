package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestValidateKeepsRenamedSourceRows: a source renamed in the file (the
// same topic) leaves its rows in the old source's state table, which the
// renamed source's views need. validate offers no DROP of that table but
// the statement that gives it the new name, before the edited file's
// first start and after it (the empty table a start made goes first); run
// as said, the new source holds the rows, and the old table is no more.
// Once the new state holds rows of its own, renaming would serve the older
// rows of those: validate says a re-read is needed, and offers neither.
func TestValidateKeepsRenamedSourceRows(t *testing.T) {
	pgURL := testenv.PostgresURL(t)
	deployed := itemsConfig(pgURL, "", "id: id, name: name, qty: qty", "item_view")
	renamed := strings.Replace(strings.Replace(deployed, "  items:\n    topic:", "  goods:\n    topic:", 1), "from: items", "from: goods", 1)
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
	validate := func() string {
		t.Helper()
		_, out, _ := run(t, "validate", "-c", writeConfig(t, renamed))
		if strings.Contains(out, `DROP TABLE "projector"."state_items"`) {
			t.Errorf("validate offers to drop the renamed source's rows:\n%s", out)
		}
		return out
	}
	deployConfig(t, deployed)
	fill("state_items", "1, 5")

	rename := `ALTER TABLE "projector"."state_items" RENAME TO "state_goods"`
	note := `note: state: table "projector"."state_items" (the rows of source items, renamed goods: the same topic shop.public.items): ` +
		"the views of goods miss these rows until rebuilt --from source, kafka or signal; to keep them instead, stop every instance and run " + rename +
		"; then start them with this file"
	if out := validate(); !strings.Contains(out, note) {
		t.Errorf("before the first start: want\n%s\nin:\n%s", note, out)
	}

	deployConfig(t, renamed) // a start made state_goods, empty
	keep := `BEGIN; DROP TABLE "projector"."state_goods"; ` + rename + "; COMMIT"
	if out := validate(); !strings.Contains(out, "run "+keep+"; then start them") {
		t.Fatalf("after a start: want %q in:\n%s", keep, out)
	}
	if _, err := conn.Exec(ctx, keep, pgx.QueryExecModeSimpleProtocol); err != nil {
		t.Fatalf("the statement validate gave: %v", err)
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM projector.state_goods`).Scan(&n); err != nil || n != 5 {
		t.Fatalf("state_goods after the rename: %d rows (%v), want 5", n, err)
	}
	if out := validate(); strings.Contains(out, "state_items") {
		t.Errorf("after the rename validate still names state_items:\n%s", out)
	}
}

// TestValidateRenamedSourceFilledSinceNeedsReread: the renamed source's
// state holds rows streamed since its first start; the old table's rows
// are older than some of them, so no rename is offered, nor a drop: its
// views need a re-read of the source.
func TestValidateRenamedSourceFilledSinceNeedsReread(t *testing.T) {
	pgURL := testenv.PostgresURL(t)
	deployed := itemsConfig(pgURL, "", "id: id, name: name, qty: qty", "item_view")
	renamed := strings.Replace(strings.Replace(deployed, "  items:\n    topic:", "  goods:\n    topic:", 1), "from: items", "from: goods", 1)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	deployConfig(t, deployed)
	if _, err := conn.Exec(ctx, `INSERT INTO projector.state_items (key, data, pos_hi, pos_lo) VALUES ('1', '{"id": 1}', 0, 1)`); err != nil {
		t.Fatal(err)
	}
	deployConfig(t, renamed) // records the rename
	if _, err := conn.Exec(ctx, `INSERT INTO projector.state_goods (key, data, pos_hi, pos_lo) VALUES ('2', '{"id": 2}', 0, 2)`); err != nil {
		t.Fatal(err)
	}
	_, out, _ := run(t, "validate", "-c", writeConfig(t, renamed))
	want := `note: state: table "projector"."state_items" (the rows of source items, renamed goods: the same topic shop.public.items): ` +
		"the state of goods holds only the rows changed since, so its views miss the others until rebuilt --from source, kafka or signal"
	if !strings.Contains(out, want) || strings.Contains(out, "ALTER TABLE") || strings.Contains(out, `DROP TABLE "projector"."state_items"`) {
		t.Errorf("want %q, and no statement, in:\n%s", want, out)
	}
}
