package cli

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestR33cRebuildRefusedWithoutYesChangesNothing: README, Commands: "A
// rebuild asks before it starts; without a terminal (cron, a Kubernetes
// Job, `</dev/null`) it needs `--yes`."
//
// `projector rebuild VIEW` without --yes on a non-terminal refuses (exit 2,
// "not asking on a non-terminal input: pass --yes to confirm"), but only
// after rebuild.Open has brought projector's schema up to date in the
// query PostgreSQL: on a database projector never ran against it creates
// the schema `projector` and its 38 relations (registry, generations,
// revs, pending_batches, state_<source>, …); on one an older version runs
// against, a newer binary's refused (or, on a terminal, declined: "N")
// rebuild runs that version's migrations on the production schema. An
// operator who points the command at the wrong database, or who answers
// no, expects nothing to have been done: `generations` and `validate`
// likewise only read. Fix (internal/cli/rebuild.go, runRebuild): check the
// stores and ask before rebuild.Open migrates (open the registry read-only
// for PickStores, as `generations` does), or migrate only after the
// confirmation.
func TestR33cRebuildRefusedWithoutYesChangesNothing(t *testing.T) {
	pool, url := testenv.Postgres(t)
	t.Setenv("R33C_PG_URL", url)
	file := widgetsConfig(t, `kafka: { brokers: "127.0.0.1:1", group: r33c-decline }
stores: { postgres: { url: "${R33C_PG_URL}" } }
admin: { listen: off }`, `{ postgres: {} }`)

	var out, errb bytes.Buffer
	root, _ := newRoot(&out, &errb)
	root.SetArgs([]string{"rebuild", "widget_view", "-c", file})
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetIn(strings.NewReader("")) // no terminal: a pipe, as cron's
	err := root.ExecuteContext(context.Background())
	var exit *exitError
	if !errors.As(err, &exit) || exit.code != ExitUsage || !strings.Contains(err.Error(), "--yes") {
		t.Fatalf("rebuild without --yes on a pipe: %v, want exit %d asking for --yes\n%s%s", err, ExitUsage, &out, &errb)
	}

	var relations []string
	rows, err := pool.Query(context.Background(), `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'projector' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			t.Fatal(err)
		}
		relations = append(relations, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var schema bool
	if err := pool.QueryRow(context.Background(), `SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = 'projector')`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	if schema || len(relations) > 0 {
		t.Errorf("a rebuild refused before it started created schema projector with %d relations in the database: %s",
			len(relations), strings.Join(relations, ", "))
	}
}
