package rebuild

import (
	"context"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestR30pFromSourceFloatDigitsIgnoreDatabaseDefault: commit 08576f5 made
// every pool (stack.PoolConfig) set extra_float_digits = 1 and
// bytea_output = 'hex' once connected, so that values read back as text
// do not depend on the database's or role's defaults. rebuild --from
// source reads the source tables through connections of its own
// (pgx.Connect in snapshotSource and readRange), which take neither: on a
// source database whose default is extra_float_digits = 0, to_jsonb gives
// 0.3 for 0.30000000000000004, and the rebuilt documents lose digits the
// streamed ones (Debezium's) keep.
func TestR30pFromSourceFloatDigitsIgnoreDatabaseDefault(t *testing.T) {
	ctx := context.Background()
	f := newFixtureYAML(t, r30nReadingsYAML, "", "")
	d := f.startDaemon()
	defer d.stop()
	srcPool, srcURL := testenv.Postgres(t)
	var db string
	if err := srcPool.QueryRow(ctx, `SELECT current_database()`).Scan(&db); err != nil {
		t.Fatal(err)
	}
	if _, err := srcPool.Exec(ctx, `CREATE TABLE public.readings (id bigint PRIMARY KEY, t text, v double precision);
		INSERT INTO public.readings VALUES (1, 'morning', 0.30000000000000004);
		ALTER DATABASE "`+db+`" SET extra_float_digits = 0`); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(ctx, f.openEnv(), Options{View: "reading_view", From: "source", Keep: 0,
		SourceURLs: map[string]string{"readings": srcURL}}); err != nil {
		t.Fatalf("rebuild --from source: %v", err)
	}
	var v string
	if err := f.pool.QueryRow(ctx, `SELECT coalesce(v #>> '{}', '<null>') FROM reading_view`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != "0.30000000000000004" {
		t.Errorf("rebuilt v = %s, want 0.30000000000000004 (the source's value, as Debezium sends it)", v)
	}
}
