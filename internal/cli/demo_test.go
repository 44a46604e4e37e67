package cli

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestDemoChecksConfigBeforeDropping: demo drops and recreates its
// database; a mistyped -c is reported (exit 2) before, so it does not cost
// the previous demo's data.
func TestDemoChecksConfigBeforeDropping(t *testing.T) {
	pool, url := testenv.Postgres(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `DROP DATABASE IF EXISTS projector_demo WITH (FORCE)`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `CREATE DATABASE projector_demo`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = pool.Exec(context.Background(), `DROP DATABASE IF EXISTS projector_demo WITH (FORCE)`) })
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Database = "projector_demo"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(ctx, `CREATE TABLE earlier_demo (id int)`)
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PROJECTOR_POSTGRES_URL", url)
	t.Setenv("PROJECTOR_REDIS_URL", testenv.RedisURL(t))
	code, _, errs := run(t, "demo", "-c", filepath.Join(t.TempDir(), "nosuch.yaml"))
	if code != ExitUsage {
		t.Fatalf("demo -c nosuch.yaml: exit %d, want %d\n%s", code, ExitUsage, errs)
	}
	conn, err = pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("the demo database is gone: %v", err)
	}
	defer conn.Close(ctx)
	var kept bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass('earlier_demo') IS NOT NULL`).Scan(&kept); err != nil || !kept {
		t.Errorf("the earlier demo's table is gone (%v): the database was dropped before the configuration was read", err)
	}
}
