package projector_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

// toJSONBEra puts pending_batches and its view back as earlier versions
// created them (jsonb, EXTENDED storage, the view over
// jsonb_array_elements(docs)), without the tombstone indexes they did not
// create either.
func toJSONBEra(t *testing.T, ctx context.Context, exec func(ctx context.Context, sql string) error) {
	t.Helper()
	if err := exec(ctx, `DROP VIEW projector.pending;
		ALTER TABLE projector.pending_batches ALTER COLUMN docs TYPE jsonb USING docs::jsonb,
			ALTER COLUMN docs SET STORAGE EXTENDED;
		CREATE VIEW projector.pending AS
			SELECT b.id, d->>'view' AS view, d->>'doc_id' AS doc_id, d->'key' AS key, b.created_at
			FROM projector.pending_batches b CROSS JOIN LATERAL jsonb_array_elements(b.docs) d;
		DROP INDEX projector."state_users#tombstones", projector."state_teams#tombstones", projector."state_posts#tombstones"`); err != nil {
		t.Fatal(err)
	}
}

// TestUpgradeWhileAnOldInstanceWrites: a rolling upgrade. An instance of
// an earlier version is in the middle of a batch (state lock taken, a state
// row written, its pending list not yet inserted) when a new instance
// starts and migrates: creating the tombstone index waits for the state
// table the batch writes, converting pending_batches for the batch's
// pending insert. Neither may hold one while waiting for the other (a
// deadlock, the new instance not starting): both must succeed.
func TestUpgradeWhileAnOldInstanceWrites(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, patchRecoverYAML, nil)
	newEngine(t, pool, plan, newViewSink(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	toJSONBEra(t, ctx, func(ctx context.Context, sql string) error { _, err := pool.Exec(ctx, sql); return err })

	// The old instance's batch, as its project() runs it: state lock, apply.
	old, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Rollback(context.Background())
	if _, err := old.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('projector.state:projector', 0))`); err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec(ctx, `INSERT INTO projector.state_teams (key, data, pos_hi, pos_lo) VALUES ('t1', '{"_id":"t1","title":"Red"}', 1, 0)`); err != nil {
		t.Fatal(err)
	}

	// The new instance starts.
	eng, err := projector.New(projector.Options{Plan: plan, Pool: pool, Sinks: []projector.Route{{Sink: newViewSink(), Views: []string{"team_view"}}}})
	if err != nil {
		t.Fatal(err)
	}
	migrated := make(chan error, 1)
	go func() { migrated <- eng.Migrate(ctx) }()

	// Until the migration waits for the batch (whatever for).
	var migrateErr error
	done := false
	for !done {
		select {
		case migrateErr = <-migrated:
			done = true
			continue
		default:
		}
		var waiting bool
		if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_locks WHERE NOT granted)`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting {
			break
		}
	}

	// The batch goes on: its pending list, then commit.
	_, batchErr := old.Exec(ctx, `INSERT INTO projector.pending_batches (docs) VALUES ($1::jsonb)`,
		`[{"view":"team_view","doc_id":"t1","key":{"_id":"t1"}}]`)
	if batchErr == nil {
		batchErr = old.Commit(ctx)
	}
	if !done {
		migrateErr = <-migrated
	}
	if batchErr != nil {
		t.Errorf("the running (old) instance's batch: %v", batchErr)
	}
	if migrateErr != nil {
		t.Errorf("the starting instance's Migrate: %v", migrateErr)
	}
}

// TestUpgradeWithAViewOnPending: on a database an earlier version created,
// where an operator watches the pending documents through a view of their
// own on projector.pending, the migration keeps the jsonb list (converting
// it would drop their view) and the engine records and recovers pending
// docs all the same.
func TestUpgradeWithAViewOnPending(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, patchRecoverYAML, nil)
	newEngine(t, pool, plan, newViewSink(), nil)
	ctx := context.Background()
	toJSONBEra(t, ctx, func(ctx context.Context, sql string) error { _, err := pool.Exec(ctx, sql); return err })
	if _, err := pool.Exec(ctx, `CREATE VIEW public.pending_per_view AS SELECT view, count(*) AS docs FROM projector.pending GROUP BY view`); err != nil {
		t.Fatal(err)
	}
	eng, err := projector.New(projector.Options{Plan: plan, Pool: pool, Sinks: []projector.Route{{Sink: newViewSink(), Views: []string{"team_view"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Migrate(ctx); err != nil {
		t.Fatalf("Migrate on a database with a view on projector.pending: %v", err)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM public.pending_per_view`).Scan(&n); err != nil {
		t.Fatalf("the operator's view after the migration: %v", err)
	}
	down := &failingSink{viewSink: viewSink{docs: map[string]sinks.Doc{}}}
	failing, err := projector.New(projector.Options{Plan: plan, Pool: pool, MaxBackoff: 10 * time.Millisecond,
		Sinks: []projector.Route{{Sink: down, Views: viewNames(plan)}}})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if err := failing.ProcessChanges(wctx, "teams", []debezium.Change{upsert("t1", 1, 0, map[string]any{"_id": "t1", "title": "Red"})}); err == nil {
		t.Fatal("the write to a sink that is down succeeded")
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM public.pending_per_view`).Scan(&n); err != nil || n == 0 {
		t.Fatalf("pending docs in a jsonb list: %d, %v", n, err)
	}
	up := newViewSink()
	if err := newEngine(t, pool, plan, up, nil).Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if d, ok := up.docs["team_view/t1"]; !ok || d.Fields["title"] != "Red" {
		t.Errorf("team_view/t1 recovered from a jsonb list: %v %v", ok, d.Fields)
	}
}

// TestTombstoneIndexNameIsNoTableName: indexes and tables share one
// namespace; the tombstone index of source X must not take the name of the
// table of a source called X_tombstones.
func TestTombstoneIndexNameIsNoTableName(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, `
version: 1
kafka: { brokers: "localhost:9092", group: g }
stores: { postgres: { url: "postgres://unused" } }
sources:
  teams: { topic: m.shop.teams, key: _id, columns: { _id: text, title: text } }
  teams_tombstones: { topic: m.shop.teams_tombstones, key: _id, columns: { _id: text, title: text } }
views:
  team_view:
    from: teams
    fields: { id: _id, title: title }
    sinks: { postgres: {} }
  gone_view:
    from: teams_tombstones
    fields: { id: _id, title: title }
    sinks: { postgres: {} }
`, nil)
	eng, err := projector.New(projector.Options{Plan: plan, Pool: pool, Sinks: []projector.Route{{Sink: newViewSink(), Views: []string{"team_view", "gone_view"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate with sources teams and teams_tombstones: %v", err)
	}
	var kind string
	if err := pool.QueryRow(context.Background(), `SELECT relkind::text FROM pg_class WHERE oid = 'projector.state_teams_tombstones'::regclass`).Scan(&kind); err != nil || kind != "r" {
		t.Errorf("projector.state_teams_tombstones is relkind %q (%v), want the table of source teams_tombstones", kind, err)
	}
}

// TestTinyTombstoneRetention: the collector asked for a retention far
// below what the configuration accepts does not panic (a ticker of 0).
func TestTinyTombstoneRetention(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, patchRecoverYAML, nil)
	eng := newEngine(t, pool, plan, newViewSink(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // one pass, then return
	defer func() {
		if p := recover(); p != nil {
			t.Errorf("KeepCollectingTombstones with retention 1ns panicked: %v", fmt.Sprint(p))
		}
	}()
	eng.KeepCollectingTombstones(ctx, time.Nanosecond)
}

// icuPostgres is testenv.Postgres on a database whose default collation is
// English (ICU), as on a server initialised in an en_US locale (the
// official Docker image, most distributions), with deadlock_timeout long
// enough that a lock cycle can be watched before PostgreSQL breaks it.
func icuPostgres(t *testing.T) *pgxpool.Pool {
	t.Helper()
	base := os.Getenv("PROJECTOR_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("PROJECTOR_TEST_POSTGRES_URL not set")
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	db := testenv.Name("t_")
	if _, err := admin.Exec(ctx, `CREATE DATABASE `+db+` TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en' LOCALE 'C.UTF-8'`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), `DROP DATABASE IF EXISTS `+db+` WITH (FORCE)`); err != nil {
			t.Error(err)
		}
	})
	if _, err := admin.Exec(ctx, `ALTER DATABASE `+db+` SET deadlock_timeout = '10min'`); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + db
	pool, err := pgxpool.New(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// TestPeekAndBumpLockInOneOrder: a batch bumps revisions in Go's byte
// order (sort.Strings: "B" < "a"); a verification's ComputeDocs must take
// its FOR SHARE locks in the same order whatever the column's collation
// ("a" < "B" in any locale but C), or, reading docs a and B while a batch
// writes both, the two deadlock: PostgreSQL breaks the cycle only after
// deadlock_timeout, the live batch holding every instance's state lock.
func TestPeekAndBumpLockInOneOrder(t *testing.T) {
	pool := icuPostgres(t)
	_, plan := loadPlan(t, patchRecoverYAML, nil)
	eng := newEngine(t, pool, plan, newViewSink(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	team := func(id string, hi int64, title string) debezium.Change {
		return upsert(id, hi, 0, map[string]any{"_id": id, "title": title})
	}
	if err := eng.ProcessChanges(ctx, "teams", []debezium.Change{team("a", 1, "A"), team("B", 1, "B")}); err != nil {
		t.Fatal(err)
	}

	// Another reader holds doc a's revision in share mode for a moment, so
	// that the batch below stops between its two bumps.
	x, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Rollback(context.Background())
	var xPid int32
	if err := x.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&xPid); err != nil {
		t.Fatal(err)
	}
	if _, err := x.Exec(ctx, `SELECT 1 FROM projector.revs WHERE view = 'team_view' AND doc_id = 'a' FOR SHARE`); err != nil {
		t.Fatal(err)
	}
	blockedBy := func(pid int32) int32 {
		t.Helper()
		var got int32
		err := pool.QueryRow(ctx, `SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid)) LIMIT 1`, pid).Scan(&got)
		if err != nil && err != pgx.ErrNoRows {
			t.Fatal(err)
		}
		return got
	}
	blocks := func(a, b int32) bool {
		t.Helper()
		var yes bool
		if err := pool.QueryRow(ctx, `SELECT $2::int = ANY(pg_blocking_pids($1))`, a, b).Scan(&yes); err != nil {
			t.Fatal(err)
		}
		return yes
	}

	batch := make(chan error, 1)
	go func() {
		batch <- eng.ProcessChanges(ctx, "teams", []debezium.Change{team("a", 2, "A2"), team("B", 2, "B2")})
	}()
	var batchPid int32
	for batchPid == 0 { // the batch bumped B and waits for a
		batchPid = blockedBy(xPid)
	}
	check := make(chan error, 1)
	go func() {
		_, err := eng.ComputeDocs(ctx, "team_view", map[string]map[string]any{"a": {"id": "a"}, "B": {"id": "B"}})
		check <- err
	}()
	var checkPid int32
	for checkPid == 0 { // the check waits for B
		checkPid = blockedBy(batchPid)
	}
	if err := x.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	var batchErr, checkErr error
	batchDone, checkDone := false, false
	for !batchDone || !checkDone {
		select {
		case batchErr = <-batch:
			batchDone = true
			continue
		case checkErr = <-check:
			checkDone = true
			continue
		default:
		}
		if !batchDone && !checkDone && blocks(batchPid, checkPid) && blocks(checkPid, batchPid) {
			t.Errorf("deadlock: the batch (pid %d) waits for the verification's ComputeDocs (pid %d) and the other way round", batchPid, checkPid)
			if _, err := pool.Exec(ctx, `SELECT pg_cancel_backend($1)`, checkPid); err != nil {
				t.Fatal(err)
			}
			checkErr = <-check
			checkDone = true
		}
	}
	if batchErr != nil {
		t.Errorf("batch: %v", batchErr)
	}
	if checkErr != nil {
		t.Logf("ComputeDocs: %v", checkErr)
	}
}
