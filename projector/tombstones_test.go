package projector_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// TestCollectTombstones: tombstones of deletes applied longer ago than the
// retention go (in chunks, however many there are); recent tombstones and
// live rows, however old, stay. A row created again after its tombstone
// went gets a revision above its delete's, so every sink takes it.
func TestCollectTombstones(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, patchRecoverYAML, nil)
	sink := newViewSink()
	eng := newEngine(t, pool, plan, sink, nil)
	ctx := context.Background()
	del := func(id string, hi int64) debezium.Change {
		return debezium.Change{Kind: debezium.KindChange, Op: debezium.OpDelete, Position: debezium.Position{Hi: hi},
			Key: map[string]any{"_id": id}, Before: map[string]any{"_id": id}}
	}
	step := func(changes ...debezium.Change) {
		t.Helper()
		if err := eng.ProcessChanges(ctx, "teams", changes); err != nil {
			t.Fatal(err)
		}
	}
	step(upsert("t1", 1, 0, map[string]any{"_id": "t1", "title": "Red"}),
		upsert("t2", 1, 0, map[string]any{"_id": "t2", "title": "Blue"}),
		upsert("t3", 1, 0, map[string]any{"_id": "t3", "title": "Green"}))
	step(del("t1", 2), del("t2", 2))
	deletedAt := sink.docs["team_view/t1"]
	if !deletedAt.Deleted {
		t.Fatalf("team_view/t1 after its delete: %+v", deletedAt)
	}

	// t1's delete and t3's last change are eight days old, t2's delete is
	// recent; 10,050 more old tombstones take several chunks.
	if _, err := pool.Exec(ctx, `UPDATE projector.state_teams SET updated_at = now() - interval '8 days'
		WHERE data->>'_id' IN ('t1', 't3')`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO projector.state_teams (key, data, pos_hi, pos_lo, deleted, updated_at)
		SELECT 'old' || i, jsonb_build_object('_id', 'old' || i), 1, 0, true, now() - interval '30 days'
		FROM generate_series(1, 10050) i`); err != nil {
		t.Fatal(err)
	}
	n, err := eng.CollectTombstones(ctx, 7*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if n != 10051 {
		t.Errorf("collected %d tombstones, want 10051", n)
	}
	var left []string
	rows, err := pool.Query(ctx, `SELECT data->>'_id', deleted FROM projector.state_teams ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		var deleted bool
		if err := rows.Scan(&id, &deleted); err != nil {
			t.Fatal(err)
		}
		left = append(left, fmt.Sprintf("%s deleted=%v", id, deleted))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(left, ", "), "t2 deleted=true, t3 deleted=false"; got != want {
		t.Errorf("state after collecting: %s, want %s", got, want)
	}
	if n, err := eng.CollectTombstones(ctx, 7*24*time.Hour); err != nil || n != 0 {
		t.Errorf("collecting again: %d, %v; want nothing", n, err)
	}

	step(upsert("t1", 3, 0, map[string]any{"_id": "t1", "title": "Red again"}))
	if d := sink.docs["team_view/t1"]; d.Deleted || d.Rev <= deletedAt.Rev || d.Fields["title"] != "Red again" {
		t.Errorf("team_view/t1 created again: %+v, want live at a revision above %d", d, deletedAt.Rev)
	}
}

// TestKeepCollectingTombstones: the daemon's collector runs as soon as it
// starts, and stops with its context; a retention of 0 collects nothing.
func TestKeepCollectingTombstones(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, patchRecoverYAML, nil)
	eng := newEngine(t, pool, plan, newViewSink(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := pool.Exec(ctx, `INSERT INTO projector.state_users (key, data, pos_hi, pos_lo, deleted, updated_at)
		VALUES ('gone', '{"_id": "gone"}', 1, 0, true, now() - interval '2 days');
		CREATE FUNCTION projector.announce() RETURNS trigger LANGUAGE plpgsql AS
		$$ BEGIN PERFORM pg_notify('collected', OLD.key); RETURN OLD; END $$;
		CREATE TRIGGER announce AFTER DELETE ON projector.state_users FOR EACH ROW EXECUTE FUNCTION projector.announce()`); err != nil {
		t.Fatal(err)
	}
	eng.KeepCollectingTombstones(ctx, 0) // returns at once
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM projector.state_users`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("after a collector with retention 0: %d rows, %v; want the tombstone kept", n, err)
	}

	listener, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Release()
	if _, err := listener.Exec(ctx, `LISTEN collected`); err != nil {
		t.Fatal(err)
	}
	run, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); eng.KeepCollectingTombstones(run, 24*time.Hour) }()
	note, err := listener.Conn().WaitForNotification(ctx)
	if err != nil {
		t.Fatalf("no tombstone collected: %v", err)
	}
	if note.Payload != "gone" {
		t.Errorf("collected %q, want the tombstone gone", note.Payload)
	}
	stop()
	<-done
}

// TestLateCreateAfterACollection: positions of one source are not
// delivered in order across rows: a PostgreSQL change carries the LSN of its
// write, not of its commit (a transaction that inserted post 1 early commits
// after post 2 was created and deleted), and the partitions of a topic are
// consumed independently (post 1's partition lags). Collecting post 2's
// tombstone must not keep post 1's create, older than post 2's delete, from
// the state and the view.
func TestLateCreateAfterACollection(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, patchRecoverYAML, nil)
	sink := newViewSink()
	eng := newEngine(t, pool, plan, sink, nil)
	ctx := context.Background()
	post := func(id int64, lsn int64, deleted bool) debezium.Change {
		c := debezium.Change{Kind: debezium.KindChange, Op: debezium.OpCreate, Position: debezium.Position{Hi: lsn},
			Key: map[string]any{"id": id}, After: map[string]any{"id": id, "user_id": "u1", "title": "post"}}
		if deleted {
			c.Op, c.After, c.Before = debezium.OpDelete, nil, map[string]any{"id": id}
		}
		return c
	}
	step := func(changes ...debezium.Change) {
		t.Helper()
		if err := eng.ProcessChanges(ctx, "posts", changes); err != nil {
			t.Fatal(err)
		}
	}
	step(post(2, 150, false))
	step(post(2, 200, true))
	if _, err := pool.Exec(ctx, `UPDATE projector.state_posts SET updated_at = now() - interval '2 hours' WHERE deleted`); err != nil {
		t.Fatal(err)
	}
	if n, err := eng.CollectTombstones(ctx, time.Hour); err != nil || n != 1 {
		t.Fatalf("collected %d, %v; want post 2's tombstone", n, err)
	}
	// Post 1's create, written at LSN 100, delivered now.
	step(post(1, 100, false))
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM projector.state_posts WHERE data->>'id' = '1' AND NOT deleted`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("post 1, created at LSN 100 and never deleted, is not in the state: dropped by post 2's collected delete at 200")
	}
	sink.mu.Lock()
	d, ok := sink.docs["post_view/1"]
	sink.mu.Unlock()
	if !ok || d.Deleted {
		t.Errorf("post_view/1: %v %+v, want it live", ok, d)
	}
}

// TestDeletedDocumentsAreCollected: the engine marks the revision of a
// document it computes absent; once older than the retention the revision
// goes, the view's floor keeps it, and the document created again is
// written above its delete. Live documents keep their revisions however
// old, and a document brought back is no longer marked.
func TestDeletedDocumentsAreCollected(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, patchRecoverYAML, nil)
	sink := newViewSink()
	eng := newEngine(t, pool, plan, sink, nil)
	ctx := context.Background()
	step := func(changes ...debezium.Change) {
		t.Helper()
		if err := eng.ProcessChanges(ctx, "teams", changes); err != nil {
			t.Fatal(err)
		}
	}
	del := debezium.Change{Kind: debezium.KindChange, Op: debezium.OpDelete, Position: debezium.Position{Hi: 2},
		Key: map[string]any{"_id": "t1"}, Before: map[string]any{"_id": "t1"}}
	step(upsert("t1", 1, 0, map[string]any{"_id": "t1", "title": "Red"}),
		upsert("t2", 1, 0, map[string]any{"_id": "t2", "title": "Blue"}))
	step(del)
	deleted := sink.docs["team_view/t1"]
	marked := func() string {
		t.Helper()
		rows, _ := pool.Query(ctx, `SELECT doc_id || '@' || rev FROM projector.revs
			WHERE view = 'team_view' AND deleted_at IS NOT NULL ORDER BY 1`)
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(got, ",")
	}
	if got, want := marked(), fmt.Sprintf("t1@%d", deleted.Rev); !deleted.Deleted || got != want {
		t.Fatalf("revisions marked deleted: %q, want %q (t1's delete: %+v)", got, want, deleted)
	}

	if _, err := pool.Exec(ctx, `UPDATE projector.revs SET deleted_at = now() - interval '8 days' WHERE view = 'team_view' AND deleted_at IS NOT NULL`); err != nil {
		t.Fatal(err)
	}
	if n, err := eng.CollectRevisions(ctx, 7*24*time.Hour); err != nil || n != 1 {
		t.Fatalf("collected %d revisions, %v; want t1's", n, err)
	}
	var floor int64
	if err := pool.QueryRow(ctx, `SELECT floor FROM projector.rev_floors WHERE view = 'team_view'`).Scan(&floor); err != nil || floor != deleted.Rev {
		t.Fatalf("team_view's floor: %d, %v; want t1's delete at %d", floor, err, deleted.Rev)
	}
	var live int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM projector.revs WHERE view = 'team_view' AND doc_id = 't2'`).Scan(&live); err != nil || live != 1 {
		t.Fatalf("t2's revision rows: %d, %v; want it kept", live, err)
	}

	step(upsert("t1", 3, 0, map[string]any{"_id": "t1", "title": "Red again"}))
	if d := sink.docs["team_view/t1"]; d.Deleted || d.Rev <= deleted.Rev {
		t.Errorf("team_view/t1 created again: %+v, want live above revision %d", d, deleted.Rev)
	}
	if got := marked(); got != "" {
		t.Errorf("revisions marked deleted after t1 came back: %q, want none", got)
	}
}

// purgerSink records the purges asked of it.
type purgerSink struct {
	*viewSink
	asked []time.Duration
	err   error
}

func (p *purgerSink) PurgeTombstones(_ context.Context, olderThan time.Duration) (int64, error) {
	p.asked = append(p.asked, olderThan)
	return 3, p.err
}

// TestPurgeSinkTombstones: every sink that keeps tombstones is asked to
// purge those older than the retention; one failing does not spare the
// others, and its error is reported.
func TestPurgeSinkTombstones(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, patchRecoverYAML, nil)
	failing := &purgerSink{viewSink: newViewSink(), err: errors.New("cluster unreachable")}
	ok := &purgerSink{viewSink: newViewSink()}
	eng, err := projector.New(projector.Options{Plan: plan, Pool: pool, Sinks: []projector.Route{
		{Sink: failing, Views: []string{"team_view"}}, {Sink: newViewSink(), Views: []string{"team_view"}}, {Sink: ok, Views: []string{"team_view"}}}})
	if err != nil {
		t.Fatal(err)
	}
	n, err := eng.PurgeSinkTombstones(context.Background(), 48*time.Hour)
	if err == nil || !strings.Contains(err.Error(), "cluster unreachable") {
		t.Errorf("error: %v, want the failing sink's", err)
	}
	if n != 6 || len(failing.asked) != 1 || len(ok.asked) != 1 || ok.asked[0] != 48*time.Hour {
		t.Errorf("purged %d; asked %v and %v; want 6, each asked once for 48h", n, failing.asked, ok.asked)
	}
}
