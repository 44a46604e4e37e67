package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestValidateStateLacksColumn: a view that starts to read a column the
// slim state did not keep for the rows it holds needs its sources read
// again (a rebuild from the state would leave it null), and validate says
// so at the view, exit 2. With an empty state nothing is lacking.
func TestValidateStateLacksColumn(t *testing.T) {
	pgURL := testenv.PostgresURL(t)
	deployConfig(t, itemsConfig(pgURL, "", "id: id, name: name, qty: qty", "item_view"))
	wider := writeConfig(t, itemsConfig(pgURL, "", "id: id, name: name, qty: qty, color: color", "item_view"))
	if code, out, errs := run(t, "validate", "-c", wider); code != 0 || strings.Contains(errs, "items.color") {
		t.Fatalf("an empty state: exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}

	// A row written while the view did not read color.
	pool, err := pgxpool.New(context.Background(), pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(context.Background(), `INSERT INTO projector.state_items (key, data, pos_hi, pos_lo)
		VALUES ('1', '{"id": 1, "name": "a", "qty": 1}', 10, 0)`); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run(t, "validate", "-c", wider)
	if code != ExitUsage || !strings.Contains(errs, "items.color") || !strings.Contains(errs, "--from source") {
		t.Errorf("validate: exit %d, want %d naming items.color and a rebuild --from source\nstdout: %s\nstderr: %s", code, ExitUsage, out, errs)
	}
}

// TestRunRefusesRemovedFieldAsConfigError: run with a file removing a
// field of a deployed PostgreSQL view refuses to start, as a configuration
// the deployment cannot take (exit 2, as validate's), saying how to apply
// it; it exited 1 with the sink's prefix twice.
func TestRunRefusesRemovedFieldAsConfigError(t *testing.T) {
	pgURL := testenv.PostgresURL(t)
	deployConfig(t, itemsConfig(pgURL, "", "id: id, name: name, qty: qty", "item_view"))
	code, out, errs := run(t, "run", "-c", writeConfig(t, itemsConfig(pgURL, "", "id: id, name: name", "item_view")))
	if code != ExitUsage || !strings.Contains(errs, "projector rebuild") || strings.Count(errs, "postgres sink") != 1 {
		t.Errorf("run with a removed field: exit %d, want %d naming projector rebuild once\nstdout: %s\nstderr: %s", code, ExitUsage, out, errs)
	}
}
