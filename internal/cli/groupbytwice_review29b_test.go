package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/sinks/postgres"
)

// TestR29bGroupByColumnTwice: a group_by view listing a column twice
// (group_by: [status, status], easily left by an edit) passes `projector
// validate --offline` ("ok", exit 0), and compiles, but the PostgreSQL sink
// `run` builds at start refuses the view ("invalid view: id column
// \"status\" listed twice"): run fails after validate passed, and online
// validate prints the sink's error without file:line:col. README: validate
// reports every problem as file:line:col and exits 2, "including a store
// setting run refuses at start".
func TestR29bGroupByColumnTwice(t *testing.T) {
	const doc = `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://x/y" } }
sources:
  orders: { topic: t.o, key: id, columns: { id: bigint, status: text } }
views:
  by_status:
    from: orders
    group_by: [status, status]
    fields: { status: status, n: { agg: count } }
    sinks: { postgres: {} }
`
	p := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	// What run does with it: the sink refuses the view.
	pool, _ := testenv.Postgres(t)
	if cfg, err := config.Load(p, os.LookupEnv); err == nil {
		if plan, err := projections.Compile(cfg); err == nil {
			if _, err := postgres.New(pool, stack.PostgresViews(plan)); err != nil {
				t.Logf("the PostgreSQL sink run builds refuses it: %v", err)
			}
		}
	}
	code, out, errs := run(t, "validate", "--offline", "-c", p)
	if code != ExitUsage || strings.Contains(out, ": ok") ||
		!regexp.MustCompile(regexp.QuoteMeta(p)+`:\d+:\d+: .*status`).MatchString(errs) {
		t.Errorf("validate --offline: exit %d, want %d and the repeated group_by column at its file:line:col\nstdout: %sstderr: %s", code, ExitUsage, out, errs)
	}
}
