package projector

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks"
)

// refreshSink records the ids of the documents written, in order.
type refreshSink struct {
	mu  sync.Mutex
	ids []string
}

func (s *refreshSink) Name() string { return "refresh" }
func (s *refreshSink) Write(_ context.Context, docs []sinks.Doc) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range docs {
		s.ids = append(s.ids, d.ID)
	}
	return nil
}

func (s *refreshSink) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := s.ids
	s.ids = nil
	return ids
}

const refreshSources = `
sources:
  posts: { topic: t.public.posts, format: json, key: id, columns: { id: bigint, title: text, expires_at: timestamptz } }
views:
  live:
    from: posts
    where: expires_at == nil or expires_at > now()
    refresh: `

// TestRefreshClaimedOnceAndResumed: of the instances sharing a state, the
// first to find a view's refresh due runs it, and the others find it not
// due until its interval has passed; one whose refresh was shortened finds
// it due at once; and a refresh claimed after one that stopped part way
// goes on from the last chunk it recorded, in chunks.
func TestRefreshClaimedOnceAndResumed(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	ctx := t.Context()
	engine := func(refresh string) (*Engine, *refreshSink) {
		t.Helper()
		plan := r27ePlan(t, refreshSources+refresh+`
    fields: { id: id, title: title }
    sinks: { postgres: {} }
`)
		sink := &refreshSink{}
		eng, err := New(Options{Plan: plan, Pool: pool, ChunkDocs: 2, Sinks: []Route{{Sink: sink, Views: []string{"live"}}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := eng.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		return eng, sink
	}
	a, aSink := engine("1h")
	b, bSink := engine("1h")
	var chs []debezium.Change
	for i := 1; i <= 5; i++ {
		chs = append(chs, debezium.Change{Kind: debezium.KindChange, Op: debezium.OpUpdate, Position: debezium.Position{Lo: int64(i)},
			After: map[string]any{"id": json.Number(strconv.Itoa(i)), "title": "p" + strconv.Itoa(i), "expires_at": nil}})
	}
	if err := a.ProcessChanges(ctx, "posts", chs); err != nil {
		t.Fatal(err)
	}
	aSink.take()
	view := a.plan.View("live")

	if err := a.refreshIfDue(ctx, view); err != nil {
		t.Fatal(err)
	}
	if got := sorted(aSink.take()); !slices.Equal(got, []string{"1", "2", "3", "4", "5"}) {
		t.Errorf("the first refresh wrote %v, want every document", got)
	}
	if err := b.refreshIfDue(ctx, b.plan.View("live")); err != nil {
		t.Fatal(err)
	}
	if got := bSink.take(); len(got) != 0 {
		t.Errorf("another instance refreshed %v right after the first did, want nothing until the next is due", got)
	}

	// Shortened from 1h to 1s: due at once, not in an hour.
	c, cSink := engine("1s")
	if err := c.refreshIfDue(ctx, c.plan.View("live")); err != nil {
		t.Fatal(err)
	}
	if got := cSink.take(); len(got) != 5 {
		t.Errorf("a refresh shortened to 1s wrote %v, want every document at once", got)
	}

	// A refresh that stopped after its first chunk (ids 1 and 2): the
	// next claim goes on from there.
	if _, err := pool.Exec(ctx, `UPDATE projector.refreshes SET due_at = now() - interval '1s' WHERE view = 'live'`); err != nil {
		t.Fatal(err)
	}
	if due, _, err := a.state.claimRefresh(ctx, "live", listing(view), "a", time.Second, time.Minute); err != nil || !due {
		t.Fatalf("claim: due %v, %v", due, err)
	}
	_, err := a.Refresh(ctx, "live", "", func(cursor string) error {
		if err := a.state.refreshed(ctx, "live", "a", cursor, time.Second, time.Minute); err != nil {
			return err
		}
		return errStopped
	})
	if !errors.Is(err, errStopped) {
		t.Fatalf("Refresh: %v, want it stopped after its first chunk", err)
	}
	aSink.take()
	// While a's refresh records chunks, it keeps it claimed.
	if err := b.refreshIfDue(ctx, b.plan.View("live")); err != nil {
		t.Fatal(err)
	}
	if got := bSink.take(); len(got) != 0 {
		t.Errorf("another instance refreshed %v while the refresh claimed was under way", got)
	}
	// a stopped: its hold lapses (the refresh stayed due).
	if _, err := pool.Exec(ctx, `UPDATE projector.refreshes SET held_until = now() - interval '1s' WHERE view = 'live'`); err != nil {
		t.Fatal(err)
	}
	if err := b.refreshIfDue(ctx, b.plan.View("live")); err != nil {
		t.Fatal(err)
	}
	if got := sorted(bSink.take()); !slices.Equal(got, []string{"3", "4", "5"}) {
		t.Errorf("the refresh claimed after one stopped part way wrote %v, want the documents after its last chunk: [3 4 5]", got)
	}
	var cursor *string
	if err := pool.QueryRow(ctx, `SELECT cursor FROM projector.refreshes WHERE view = 'live'`).Scan(&cursor); err != nil {
		t.Fatal(err)
	}
	if cursor != nil {
		t.Errorf("a finished refresh left its cursor %q, want none", *cursor)
	}
}

var errStopped = errors.New("stopped")

// TestRefreshCursorOfAnotherListing: a refresh stopped part way in a
// view's root rows is started again, not resumed, once the view lists
// groups instead (its group_by changed): the cursor points into another
// listing.
func TestRefreshCursorOfAnotherListing(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	ctx := t.Context()
	s := &state{pool: pool, schema: "projector"}
	if _, err := pool.Exec(ctx, `CREATE SCHEMA projector`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, s.refreshesTable()); err != nil {
		t.Fatal(err)
	}
	if due, _, err := s.claimRefresh(ctx, "v", "posts/", "a", time.Hour, time.Minute); err != nil || !due {
		t.Fatalf("first claim: %v %v", due, err)
	}
	if err := s.refreshed(ctx, "v", "a", "\x01k7", time.Hour, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE projector.refreshes SET held_until = now() - interval '1s'`); err != nil {
		t.Fatal(err)
	}
	if due, cursor, err := s.claimRefresh(ctx, "v", "posts/author", "b", time.Hour, time.Minute); err != nil || !due || cursor != "" {
		t.Errorf("claimed in another listing: due %v, cursor %q (%v); want due from the start", due, cursor, err)
	}
	if _, err := pool.Exec(ctx, `UPDATE projector.refreshes SET held_until = now() - interval '1s', cursor = 'x'`); err != nil {
		t.Fatal(err)
	}
	if due, cursor, err := s.claimRefresh(ctx, "v", "posts/author", "c", time.Hour, time.Minute); err != nil || !due || cursor != "x" {
		t.Errorf("claimed in the same listing: due %v, cursor %q (%v); want due from x", due, cursor, err)
	}
}
