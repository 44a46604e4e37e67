package cli

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/projectorhq/projector/internal/testenv"
)

// leftoversConfig is a shop of orders, with a view joining their lines
// when withLines, and its users source declared when withUsers.
func leftoversConfig(pgURL string, withLines, withUsers bool) string {
	y := `version: 1
kafka: { brokers: "127.0.0.1:1" }
admin: { listen: off }
stores:
  postgres: { url: "` + pgURL + `" }
sources:
  orders:
    topic: shop.public.orders
    key: id
    columns: { id: bigint, status: text }
  lines:
    topic: shop.public.lines
    key: id
    columns: { id: bigint, order_id: bigint, qty: bigint }
`
	if withUsers {
		y += `  users:
    topic: shop.public.users
    key: id
    columns: { id: bigint, name: text }
`
	}
	y += `views:
  order_view:
    from: orders
    fields: { id: id, status: status }
    sinks:
      postgres: { table: order_view }
`
	if withLines {
		y += `  order_lines:
    from: orders
    fields:
      id: id
      lines: { many: lines, on: { order_id: id }, fields: { id: id, qty: qty } }
    sinks:
      postgres: { table: order_lines }
`
	}
	return y
}

// TestValidateNamesLeftoverState: a join removed (with its view) leaves the
// index its joined rows were found by, a source removed its state table;
// each slows writes or holds rows for nothing, and projector drops
// neither itself (instances of the earlier file may still read by them).
// validate names each with the statement that drops it, which works, and
// then names nothing; the deployed file itself has no leftovers.
func TestValidateNamesLeftoverState(t *testing.T) {
	pgURL := testenv.PostgresURL(t)
	deployConfig(t, leftoversConfig(pgURL, true, true))

	code, out, errs := run(t, "validate", "-c", writeConfig(t, leftoversConfig(pgURL, true, true)))
	if code != ExitOK || strings.Contains(out, "note: state:") {
		t.Fatalf("deployed file: exit %d, want 0 without leftovers\nstdout: %s\nstderr: %s", code, out, errs)
	}

	code, out, errs = run(t, "validate", "-c", writeConfig(t, leftoversConfig(pgURL, false, false)))
	if code != ExitOK {
		t.Fatalf("exit %d, want 0 (leftovers are notes)\nstdout: %s\nstderr: %s", code, out, errs)
	}
	for _, want := range []string{
		`note: state: table "projector"."state_users" (a source no longer declared) is used by no view of this file; once no instance runs a file that uses it: DROP TABLE "projector"."state_users";`,
		`note: state: index "projector"."state_lines:order_id" on state_lines (a join or group_by since removed) is used by no view of this file; once no instance runs a file that uses it: DROP INDEX CONCURRENTLY "projector"."state_lines:order_id";`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %s\nstdout: %s", want, out)
		}
	}
	if n := strings.Count(out, "note: state:"); n != 2 {
		t.Errorf("%d leftovers named, want 2 (the tombstone indexes and primary keys are used)\nstdout: %s", n, out)
	}

	conn, err := pgx.Connect(context.Background(), pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, m := range regexp.MustCompile(`: (DROP [^;]+);`).FindAllStringSubmatch(out, -1) {
		if _, err := conn.Exec(context.Background(), m[1]); err != nil {
			t.Fatalf("%s: %v", m[1], err)
		}
	}
	code, out, errs = run(t, "validate", "-c", writeConfig(t, leftoversConfig(pgURL, false, false)))
	if code != ExitOK || strings.Contains(out, "note: state:") {
		t.Errorf("after the drops: exit %d, want 0 without leftovers\nstdout: %s\nstderr: %s", code, out, errs)
	}
}
