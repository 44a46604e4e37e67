package projector

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks"
)

// holdRig is two instances (a, b) sharing a state, refreshing "live"
// (every hour) over five posts in chunks of two; a's writes go through
// aWrite when set.
type holdRig struct {
	pool         *pgxpool.Pool
	a, b         *Engine
	aSink, bSink *refreshSink
	aWrite       func(ctx context.Context, docs []sinks.Doc) error
}

type hookSink struct {
	*refreshSink
	hook *func(ctx context.Context, docs []sinks.Doc) error
}

func (s hookSink) Write(ctx context.Context, docs []sinks.Doc) error {
	if *s.hook != nil {
		if err := (*s.hook)(ctx, docs); err != nil {
			return err
		}
	}
	return s.refreshSink.Write(ctx, docs)
}

func newHoldRig(t *testing.T, hold time.Duration) *holdRig {
	t.Helper()
	pool, _ := testenv.Postgres(t)
	r := &holdRig{pool: pool, aSink: &refreshSink{}, bSink: &refreshSink{}}
	engine := func(s Sink) *Engine {
		plan := r27ePlan(t, refreshSources+`1h
    fields: { id: id, title: title }
    sinks: { postgres: {} }
`)
		eng, err := New(Options{Plan: plan, Pool: pool, ChunkDocs: 2, Sinks: []Route{{Sink: s, Views: []string{"live"}}}})
		if err != nil {
			t.Fatal(err)
		}
		eng.refreshHold = hold
		if err := eng.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		return eng
	}
	r.a, r.b = engine(hookSink{r.aSink, &r.aWrite}), engine(r.bSink)
	var chs []debezium.Change
	for i := 1; i <= 5; i++ {
		chs = append(chs, debezium.Change{Kind: debezium.KindChange, Op: debezium.OpUpdate, Position: debezium.Position{Lo: int64(i)},
			After: map[string]any{"id": json.Number(strconv.Itoa(i)), "title": "p" + strconv.Itoa(i), "expires_at": nil}})
	}
	if err := r.a.ProcessChanges(t.Context(), "posts", chs); err != nil {
		t.Fatal(err)
	}
	r.aSink.take()
	return r
}

func (r *holdRig) refreshB(t *testing.T) []string {
	t.Helper()
	if err := r.b.refreshIfDue(t.Context(), r.b.plan.View("live")); err != nil {
		t.Fatal(err)
	}
	return sorted(r.bSink.take())
}

func sorted(ids []string) []string {
	slices.Sort(ids)
	return ids
}

func (r *holdRig) heldUntil(t *testing.T) time.Time {
	t.Helper()
	var at time.Time
	if err := r.pool.QueryRow(t.Context(), `SELECT held_until FROM projector.refreshes WHERE view = 'live'`).Scan(&at); err != nil {
		t.Fatal(err)
	}
	return at
}

// TestRefreshHeldNotDueAnInterval: an instance that claimed a refresh and
// stopped before writing anything (a crash) holds it only until its hold
// lapses: another takes it up then, not an interval later. One stopped
// gracefully part way lets go of it at once, and the next goes on from its
// last chunk.
func TestRefreshHeldNotDueAnInterval(t *testing.T) {
	r := newHoldRig(t, time.Minute)
	ctx := t.Context()
	live := r.a.plan.View("live")
	if due, _, err := r.a.state.claimRefresh(ctx, "live", listing(live), "crashed", time.Hour, time.Minute); err != nil || !due {
		t.Fatalf("claim: due %v, %v", due, err)
	}
	if got := r.refreshB(t); len(got) != 0 {
		t.Errorf("b refreshed %v while the crashed instance held the refresh", got)
	}
	if _, err := r.pool.Exec(ctx, `UPDATE projector.refreshes SET held_until = now() - interval '1ms'`); err != nil {
		t.Fatal(err)
	}
	if got := r.refreshB(t); !slices.Equal(got, []string{"1", "2", "3", "4", "5"}) {
		t.Errorf("once the crashed instance's hold lapsed, b refreshed %v, want every document (the refresh stayed due)", got)
	}

	// a is stopped after its first chunk: b goes on from there at once.
	if _, err := r.pool.Exec(ctx, `UPDATE projector.refreshes SET due_at = now() - interval '1ms'`); err != nil {
		t.Fatal(err)
	}
	stopA, stop := context.WithCancel(ctx)
	chunks := 0
	r.aWrite = func(context.Context, []sinks.Doc) error {
		if chunks++; chunks == 2 {
			stop()
			return context.Canceled
		}
		return nil
	}
	if err := r.a.refreshIfDue(stopA, live); err == nil {
		t.Fatal("a's stopped refresh returned no error")
	}
	if got := sorted(r.aSink.take()); !slices.Equal(got, []string{"1", "2"}) {
		t.Fatalf("a wrote %v before it stopped, want its first chunk", got)
	}
	if got := r.refreshB(t); !slices.Equal(got, []string{"3", "4", "5"}) {
		t.Errorf("right after a stopped, b refreshed %v, want the documents after a's first chunk", got)
	}
}

// TestRefreshHoldRenewed: a refresh whose chunk takes longer than the hold
// (a store's outage retried) stays held, renewed as it runs: no other
// instance runs it meanwhile.
func TestRefreshHoldRenewed(t *testing.T) {
	r := newHoldRig(t, 300*time.Millisecond)
	release := make(chan struct{})
	blocked := make(chan time.Time, 1)
	r.aWrite = func(ctx context.Context, _ []sinks.Doc) error {
		select {
		case blocked <- time.Now():
		default:
		}
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	var wg sync.WaitGroup
	var aErr error
	wg.Go(func() { aErr = r.a.refreshIfDue(t.Context(), r.a.plan.View("live")) })
	<-blocked
	first := r.heldUntil(t)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for renewals := 0; renewals < 3; {
		select {
		case <-tick.C:
		case <-deadline:
			close(release)
			wg.Wait()
			t.Fatalf("the hold on a blocked refresh was renewed %d times in 10s (held until %v), want it renewed every 100ms", renewals, r.heldUntil(t))
		}
		if at := r.heldUntil(t); at.After(first) {
			renewals++
			first = at
			if got := r.refreshB(t); len(got) != 0 {
				t.Errorf("b refreshed %v while a's refresh held it, renewed", got)
			}
		}
	}
	close(release)
	wg.Wait()
	if aErr != nil {
		t.Fatal(aErr)
	}
	if got := r.aSink.take(); len(got) != 5 {
		t.Errorf("a refreshed %v, want every document", got)
	}
}

// TestRefreshLostHold: an instance whose hold another took over (it could
// not renew it in time) stops at its next chunk, writing no more and
// recording nothing over the other's progress.
func TestRefreshLostHold(t *testing.T) {
	r := newHoldRig(t, time.Minute)
	r.aWrite = func(ctx context.Context, _ []sinks.Doc) error {
		_, err := r.pool.Exec(ctx, `UPDATE projector.refreshes SET holder = 'other', cursor = 'theirs'`)
		return err
	}
	if err := r.a.refreshIfDue(t.Context(), r.a.plan.View("live")); err != nil {
		t.Fatalf("a refresh that lost its hold: %v, want it to give way quietly", err)
	}
	if got := sorted(r.aSink.take()); !slices.Equal(got, []string{"1", "2"}) {
		t.Errorf("a wrote %v, want its first chunk only: it lost its hold during it", got)
	}
	var holder, cursor string
	if err := r.pool.QueryRow(t.Context(), `SELECT holder, cursor FROM projector.refreshes`).Scan(&holder, &cursor); err != nil {
		t.Fatal(err)
	}
	if holder != "other" || cursor != "theirs" {
		t.Errorf("after a gave way the refresh is held by %q at %q, want the other's", holder, cursor)
	}
}
