package cli

import (
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestValidateColumnAddedOnlineByANewerFileIsANote: during a rolling
// deploy that adds a field, the file before it is validated against a
// table a newer file's instance widened: the column, which neither it nor
// the recorded definition declares, is a note (exit 0, every view applies
// online), as `run` with that file starts; a column the recorded
// definition declares, which the file removed, is still an error.
func TestValidateColumnAddedOnlineByANewerFileIsANote(t *testing.T) {
	pgURL := testenv.PostgresURL(t)
	before := itemsConfig(pgURL, "", "id: id, name: name", "item_view")
	deployConfig(t, before)
	deployConfig(t, itemsConfig(pgURL, "", "id: id, name: name, qty: qty", "item_view"))

	code, out, errs := run(t, "validate", "-c", writeConfig(t, before))
	note := `note: view item_view: postgres column "qty" is declared neither by this file nor by the definition its documents were computed with`
	if code != 0 || !strings.Contains(out, note) || !strings.Contains(out, "tables: every view applies online") {
		t.Errorf("the file before the deploy: exit %d, want 0 with the note %q\nstdout: %s\nstderr: %s", code, note, out, errs)
	}
	if code, out, errs := run(t, "validate", "-c", writeConfig(t, itemsConfig(pgURL, "", "id: id", "item_view"))); code != ExitUsage ||
		!strings.Contains(errs, `column "name" was removed: needs a rebuild`) || strings.Contains(errs, `"qty" was removed`) {
		t.Errorf("a recorded field removed: exit %d, want %d naming name only\nstdout: %s\nstderr: %s", code, ExitUsage, out, errs)
	}
}
