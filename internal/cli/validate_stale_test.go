package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/projectorhq/projector/internal/testenv"
)

// withOtherView is an items configuration with other_view too.
func withOtherView(items string) string {
	return items + `  other_view:
    from: items
    fields: { id: id, name: name }
    sinks:
      postgres: { table: other_view }
`
}

// TestValidateViewPutBackNeedsRebuild: a view deployed, taken out of the
// file at a start and put back as it was has the definition recorded for
// it, but its documents missed the changes made while it was out:
// validate reports it as needing a rebuild.
func TestValidateViewPutBackNeedsRebuild(t *testing.T) {
	pgURL := testenv.PostgresURL(t)
	items := itemsConfig(pgURL, "", "id: id, name: name", "item_view")
	deployConfig(t, withOtherView(items))
	deployConfig(t, items)

	code, out, errs := run(t, "validate", "-c", writeConfig(t, withOtherView(items)))
	want := `view "other_view": definition: put back after a start without it: its documents missed every change of their rows meanwhile: needs a rebuild`
	if code != ExitUsage || !strings.Contains(errs, want) || !strings.Contains(errs, "for: other_view") {
		t.Errorf("exit %d, want 2 and %q\nstdout: %s\nstderr: %s", code, want, out, errs)
	}
}

// TestValidateNotesViewAddedOverRows: a view added over a source whose
// state holds rows will have no document for them until they change or
// a rebuild computes them: validate notes it, and passes.
func TestValidateNotesViewAddedOverRows(t *testing.T) {
	pgURL := testenv.PostgresURL(t)
	items := itemsConfig(pgURL, "", "id: id, name: name", "item_view")
	deployConfig(t, items)
	conn, err := pgx.Connect(context.Background(), pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `INSERT INTO projector.state_items (key, data, pos_hi, pos_lo)
		VALUES ('1', '{"id": 1, "name": "one"}', 0, 1)`); err != nil {
		t.Fatal(err)
	}

	code, out, errs := run(t, "validate", "-c", writeConfig(t, withOtherView(items)))
	want := "note: view other_view: added over rows already in the state of source items: " +
		"it has documents only for rows changed since its first start, until `projector rebuild other_view`"
	if code != ExitOK || !strings.Contains(out, want) {
		t.Errorf("exit %d, want 0 and %q\nstdout: %s\nstderr: %s", code, want, out, errs)
	}
}
