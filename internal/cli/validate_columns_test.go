package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
)

func columnsConfig(pgURL, fields string) string {
	return `version: 1
kafka: { brokers: "127.0.0.1:1" }
admin: { listen: off }
stores:
  postgres: { url: "` + pgURL + `" }
sources:
  items:
    topic: shop.public.items
    key: id
    columns: { id: bigint, name: text, qty: bigint, color: text }
views:
  item_view:
    from: items
    fields: { ` + fields + ` }
    sinks:
      postgres: { table: item_view }
`
}

// TestValidateStateLacksColumn: a view that starts to read a column the
// slim state did not keep for the rows it holds needs its sources read
// again (a rebuild from the state would leave it null), and validate says
// so at the view, exit 2. With an empty state nothing is lacking.
func TestValidateStateLacksColumn(t *testing.T) {
	pgURL := testenv.PostgresURL(t)
	deployed := columnsConfig(pgURL, "id: id, name: name, qty: qty")
	cfg, err := config.Parse("deployed.yaml", []byte(deployed), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := stack.Wire(context.Background(), cfg, plan, nil)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	wider := writeConfig(t, columnsConfig(pgURL, "id: id, name: name, qty: qty, color: color"))
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
