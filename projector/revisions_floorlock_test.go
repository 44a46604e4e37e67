package projector

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/internal/pglock"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/sinks"
)

// beginBatch begins a batch that gives doc its next revision, and returns
// it once the revision is given or the batch waits for a lock; bumped
// says when the revision is given. Like the batches of independent
// workers, its commit waits for nothing the batches after it do.
func beginBatch(t *testing.T, st *state, pool *pgxpool.Pool, doc string) (tx pgx.Tx, bumped <-chan error) {
	t.Helper()
	ctx := t.Context()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pid := tx.Conn().PgConn().PID()
	done := make(chan error, 1)
	go func() {
		_, err := bumpIn(ctx, st, tx, doc)
		done <- err
	}()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := pglock.Poll(wait, conn, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
		WHERE pid = $1 AND query LIKE '%INSERT INTO%' AND (state = 'idle in transaction' OR wait_event_type = 'Lock'))`, pid); err != nil {
		t.Fatalf("batch of %s neither took its revision nor waited for a lock: %v", doc, err)
	}
	return tx, done
}

// TestRevisionCollectionGivesUpWhileTheFloorStaysHeld: a collection that
// the batch under way keeps waiting past its wait gives up for the round
// (errFloorBusy), collecting nothing; a batch that came meanwhile waited
// behind it only until then, not until the batch before it committed. The
// next round collects as usual.
func TestRevisionCollectionGivesUpWhileTheFloorStaysHeld(t *testing.T) {
	st, pool := revsFixture(t)
	ctx := t.Context()
	held, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Rollback(ctx)
	if _, err := bumpIn(ctx, st, held, "b0"); err != nil {
		t.Fatal(err)
	}
	const wait = time.Second
	gaveUp := make(chan error, 1)
	go func() {
		_, err := st.collectRevisionsWithin(ctx, "v", 7*24*time.Hour, 100, wait)
		gaveUp <- err
	}()
	waitForLockWait(t, pool, "FOR NO KEY UPDATE")
	later, bumped := beginBatch(t, st, pool, "b1")
	defer later.Rollback(ctx)
	if err := <-gaveUp; !errors.Is(err, errFloorBusy) {
		t.Fatalf("collection beside a batch holding the floor: %v; want it to give up (errFloorBusy)", err)
	}
	select {
	case err := <-bumped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the batch that came while the collection waited still waits after the collection gave up")
	}
	var left int
	var floor int64
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM projector.revs WHERE view = 'v' AND doc_id = 'gone'),
		(SELECT floor FROM projector.rev_floors WHERE view = 'v')`).Scan(&left, &floor); err != nil || left != 1 || floor != 0 {
		t.Fatalf("after the collection gave up: gone's revision rows %d, floor %d (%v); want 1 and 0", left, floor, err)
	}
	for _, tx := range []pgx.Tx{held, later} {
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := st.collectRevisions(ctx, "v", 7*24*time.Hour, 100); err != nil || n != 1 {
		t.Errorf("next collection, the floor free: collected %d, %v; want gone's", n, err)
	}
}

// busyFloorState is a state whose floor of view busy stays held: its
// collection of revisions always gives up.
type busyFloorState struct {
	store
	busy  string
	asked []string
}

func (s *busyFloorState) collectRevisions(_ context.Context, view string, _ time.Duration, _ int) (int64, error) {
	s.asked = append(s.asked, view)
	if view == s.busy {
		return 0, fmt.Errorf("collect revisions of %s: %w", view, errFloorBusy)
	}
	return 2, nil
}

// purgeCounter is a sink that keeps tombstones, counting its purges.
type purgeCounter struct{ purges int }

func (*purgeCounter) Name() string                             { return "tombstones" }
func (*purgeCounter) Write(context.Context, []sinks.Doc) error { return nil }
func (p *purgeCounter) PurgeTombstones(context.Context, time.Duration) (int64, error) {
	p.purges++
	return 0, nil
}

// TestTombstoneCollectionGoesOnPastABusyFloor: a collection round whose
// revision collection gives up on a view warns once, naming the view, and
// still collects the other views' revisions and purges the sinks'
// tombstones.
func TestTombstoneCollectionGoesOnPastABusyFloor(t *testing.T) {
	var logs bytes.Buffer
	st := &busyFloorState{busy: "orders"}
	sink := &purgeCounter{}
	e := &Engine{
		plan:    &projections.Plan{Views: []*projections.View{{Name: "orders"}, {Name: "teams"}}},
		state:   st,
		sinks:   []Route{{Sink: sink, Views: []string{"orders", "teams"}}},
		log:     slog.New(slog.NewTextHandler(&logs, nil)),
		metrics: NewMetrics(nil),
	}
	e.collectAll(t.Context(), 7*24*time.Hour, time.Hour)
	if got := strings.Join(st.asked, ","); got != "orders,teams" {
		t.Errorf("views whose revisions were collected: %s; want orders, then teams all the same", got)
	}
	if sink.purges != 1 {
		t.Errorf("sink tombstones purged %d times; want once, after the revisions", sink.purges)
	}
	var warnings []string
	for line := range strings.Lines(logs.String()) {
		if strings.Contains(line, "level=WARN") {
			warnings = append(warnings, line)
		}
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "view=orders") || !strings.Contains(warnings[0], "gave up") {
		t.Errorf("warnings: %q; want one that the collection of orders gave up", warnings)
	}
	if !strings.Contains(logs.String(), `msg="revisions of deleted documents collected" count=2`) {
		t.Errorf("logs: %s; want teams' 2 revisions reported collected", logs.String())
	}
}
