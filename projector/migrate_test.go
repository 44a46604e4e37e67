package projector_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/projector"
)

// TestMigrateLeavesRoomForUpdates: the revisions and the state tables keep
// free room in their pages for HOT updates, also when an earlier version
// created them without; a fillfactor an operator set is kept.
func TestMigrateLeavesRoomForUpdates(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, patchRecoverYAML, nil)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE SCHEMA projector;
		CREATE TABLE projector.revs (view text NOT NULL, doc_id text NOT NULL, rev bigint NOT NULL, PRIMARY KEY (view, doc_id));
		INSERT INTO projector.revs VALUES ('user_view', 'u1', 3)`); err != nil {
		t.Fatal(err)
	}
	newEngine(t, pool, plan, newViewSink(), nil)
	// An operator's own choice for one table stays.
	if _, err := pool.Exec(ctx, `ALTER TABLE projector.state_posts SET (fillfactor = 90)`); err != nil {
		t.Fatal(err)
	}
	newEngine(t, pool, plan, newViewSink(), nil)
	want := map[string]string{"revs": "{fillfactor=70}", "state_users": "{fillfactor=80}", "state_teams": "{fillfactor=80}", "state_posts": "{fillfactor=90}"}
	for table, opts := range want {
		var got string
		if err := pool.QueryRow(ctx, `SELECT coalesce(reloptions::text, '') FROM pg_class WHERE oid = ('projector.' || $1)::regclass`, table).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != opts {
			t.Errorf("%s options %q, want %q", table, got, opts)
		}
	}
	var rev int64
	if err := pool.QueryRow(ctx, `SELECT rev FROM projector.revs WHERE doc_id = 'u1'`).Scan(&rev); err != nil || rev != 3 {
		t.Errorf("revision kept through the migration: %d, %v; want 3", rev, err)
	}
}

// TestKeyJoinsUseThePrimaryKey: rows joined by their source's only key
// column are found through the state's primary key; the expression index
// an earlier version built on that column is dropped, one it built for a
// join is kept under its new name, and the joins find the same rows.
func TestKeyJoinsUseThePrimaryKey(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, patchRecoverYAML, nil)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE SCHEMA projector;
		CREATE TABLE projector.state_teams (key text PRIMARY KEY, data jsonb NOT NULL,
			pos_hi bigint NOT NULL, pos_lo bigint NOT NULL, deleted boolean NOT NULL DEFAULT false,
			updated_at timestamptz NOT NULL DEFAULT now());
		CREATE TABLE projector.state_users (LIKE projector.state_teams INCLUDING ALL);
		CREATE INDEX state_teams__id_idx ON projector.state_teams ((data->>'_id'));
		CREATE INDEX state_users_team_idx ON projector.state_users ((data->>'team'))`); err != nil {
		t.Fatal(err)
	}
	var renamed uint32
	if err := pool.QueryRow(ctx, `SELECT 'projector.state_users_team_idx'::regclass::oid`).Scan(&renamed); err != nil {
		t.Fatal(err)
	}
	sink := newViewSink()
	eng := newEngine(t, pool, plan, sink, nil)
	var indexes string
	if err := pool.QueryRow(ctx, `SELECT string_agg(indexname, ' ' ORDER BY indexname) FROM pg_indexes
		WHERE schemaname = 'projector' AND tablename LIKE 'state\_%' AND indexname NOT LIKE '%\_pkey'`).Scan(&indexes); err != nil {
		t.Fatal(err)
	}
	if want := "state_posts#tombstones state_posts:user_id state_teams#tombstones state_users#tombstones state_users:team"; indexes != want {
		t.Errorf("state indexes %q, want %q (none on a key column)", indexes, want)
	}
	var kept uint32
	if err := pool.QueryRow(ctx, `SELECT 'projector."state_users:team"'::regclass::oid`).Scan(&kept); err != nil || kept != renamed {
		t.Errorf("the join index of an earlier version: oid %d (%v), want %d renamed, not built again", kept, err, renamed)
	}
	if err := eng.ProcessChanges(ctx, "teams", []debezium.Change{upsert("t1", 1, 0, map[string]any{"_id": "t1", "title": "Red"})}); err != nil {
		t.Fatal(err)
	}
	if err := eng.ProcessChanges(ctx, "users", []debezium.Change{upsert("u1", 2, 0, map[string]any{"_id": "u1", "name": "Ada", "team": "t1"})}); err != nil {
		t.Fatal(err)
	}
	if err := eng.ProcessChanges(ctx, "posts", []debezium.Change{{Kind: debezium.KindChange, Op: debezium.OpCreate,
		Position: debezium.Position{Hi: 3}, Key: map[string]any{"id": 7}, After: map[string]any{"id": 7, "user_id": "u1", "title": "Hello"}}}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"user_view/u1": `{"email":null,"id":"u1","name":"Ada","team":"Red"}`,
		"post_view/7":  `{"author":{"email":null,"name":"Ada"},"id":7,"title":"Hello"}`,
	}
	checkDocs(t, sink, want)
}

// TestMigrateIndexesExistingTables: an index missing on a state table
// that exists is built without blocking its writers (CONCURRENTLY: an
// open transaction that wrote the table does not stop a later writer while
// the build waits for it), and one a failed build left invalid is built
// again.
func TestMigrateIndexesExistingTables(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, patchRecoverYAML, nil)
	newEngine(t, pool, plan, newViewSink(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := pool.Exec(ctx, `DROP INDEX projector."state_teams#tombstones";
		UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'projector."state_users:team"'::regclass`); err != nil {
		t.Fatal(err)
	}
	writer, migrated := migrateBehindWriter(t, ctx, pool, plan)
	// While the build waits for the open writer, another writer goes on.
	if _, err := pool.Exec(ctx, `INSERT INTO projector.state_teams (key, data, pos_hi, pos_lo) VALUES ('t2', '{"_id": "t2"}', 1, 0)`); err != nil {
		t.Fatalf("a writer during the index build: %v", err)
	}
	if err := writer.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-migrated; err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"state_teams#tombstones", "state_users:team"} {
		var valid bool
		if err := pool.QueryRow(ctx, `SELECT indisvalid FROM pg_index WHERE indexrelid = ('projector.' || quote_ident($1))::regclass`, name).Scan(&valid); err != nil || !valid {
			t.Errorf("index %s after the migration: valid %v, %v", name, valid, err)
		}
	}
}

// newEngineErr builds an engine on pool and migrates its state.
func newEngineErr(pool *pgxpool.Pool, plan *projections.Plan) error {
	eng, err := projector.New(projector.Options{Plan: plan, Pool: pool})
	if err != nil {
		return err
	}
	return eng.Migrate(context.Background())
}

// checkDocs checks the docs the sink holds, as canonical JSON by
// "view/id".
func checkDocs(t *testing.T, sink *viewSink, want map[string]string) {
	t.Helper()
	sink.mu.Lock()
	defer sink.mu.Unlock()
	for k, w := range want {
		if d, ok := sink.docs[k]; !ok || canonical(t, d.Fields) != w {
			t.Errorf("%s: %v %s, want %s", k, ok, canonical(t, d.Fields), w)
		}
	}
}

// migrateBehindWriter opens a transaction that wrote a row of state_teams,
// as a running instance's batch does, then starts a migration and returns
// once it waits (for that transaction, or anything else).
func migrateBehindWriter(t *testing.T, ctx context.Context, pool *pgxpool.Pool, plan *projections.Plan) (pgx.Tx, <-chan error) {
	t.Helper()
	writer, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = writer.Rollback(context.Background()) })
	if _, err := writer.Exec(ctx, `INSERT INTO projector.state_teams (key, data, pos_hi, pos_lo) VALUES ('t1', '{"_id": "t1"}', 1, 0)`); err != nil {
		t.Fatal(err)
	}
	migrated := make(chan error, 1)
	go func() { migrated <- newEngineErr(pool, plan) }()
	waitCond(t, "the migration to wait for the open writer", 30*time.Second, func() bool {
		var waiting bool
		return pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_locks WHERE NOT granted)`).Scan(&waiting) == nil && waiting
	})
	return writer, migrated
}
