package projector

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks"
)

// r32cStore is one store shared by the instances of a test: it keeps the
// newest revision of each doc, and while down it refuses every write and
// calls onDown (which ends the writer's context: the instance is stopped).
type r32cStore struct {
	mu     sync.Mutex
	docs   map[string]sinks.Doc
	down   bool
	onDown func()
}

func (s *r32cStore) Name() string { return "r32c" }
func (s *r32cStore) Write(_ context.Context, docs []sinks.Doc) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		if s.onDown != nil {
			s.onDown()
		}
		return errors.New("store unreachable")
	}
	for _, d := range docs {
		if old, ok := s.docs[d.ID]; !ok || old.Rev < d.Rev {
			s.docs[d.ID] = d
		}
	}
	return nil
}

func (s *r32cStore) doc(id string) (sinks.Doc, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.docs[id]
	return d, ok
}

// TestRefreshInterruptedDeleteIsNotLost_review32c: an instance's refresh
// computes a post the clock expired as deleted (a new revision, its
// revision row stamped deleted) and is stopped before the store took the
// delete (a deploy's SIGTERM while the store was slow, a crash). The
// refresh is taken up again (README: "one stopped part way (a crash, a
// deploy) is taken up from its last chunk at the next claim"), by another
// instance: the expired post must leave the store. It stays: the resumed
// refresh finds its revision stamped deleted and the post still absent,
// and skips it as "absent before and absent still", although no store
// ever had the delete; and no later refresh writes it either.
func TestRefreshInterruptedDeleteIsNotLost_review32c(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	ctx := t.Context()
	store := &r32cStore{docs: map[string]sinks.Doc{}}
	instance := func() *Engine {
		t.Helper()
		plan := r27ePlan(t, refreshSources+`1h
    fields: { id: id, title: title }
    sinks: { postgres: {} }
`)
		eng, err := New(Options{Plan: plan, Pool: pool, MaxBackoff: 10 * time.Millisecond, Sinks: []Route{{Sink: store, Views: []string{"live"}}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := eng.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		return eng
	}
	a, b := instance(), instance()

	edge := time.Now().Add(time.Second)
	row := func(id, title string, expires any) map[string]any {
		return map[string]any{"id": json.Number(id), "title": title, "expires_at": expires}
	}
	if err := a.ProcessChanges(ctx, "posts", []debezium.Change{
		{Kind: debezium.KindChange, Op: debezium.OpUpdate, Position: debezium.Position{Lo: 1}, After: row("1", "expires", edge.UTC().Format(time.RFC3339Nano))},
		{Kind: debezium.KindChange, Op: debezium.OpUpdate, Position: debezium.Position{Lo: 2}, After: row("2", "stays", nil)},
	}); err != nil {
		t.Fatal(err)
	}
	if d, ok := store.doc("1"); !ok || d.Deleted {
		t.Fatalf("post 1 before its expiry: %+v, want it in the store", d)
	}
	// Wait for the wall clock to pass the instant post 1 expires at.
	for now := time.Now(); now.Before(edge.Add(10 * time.Millisecond)); now = time.Now() {
		<-time.After(edge.Add(10 * time.Millisecond).Sub(now))
	}

	// Instance a claims the refresh; the store does not answer, and a is
	// stopped while it retries.
	stopA, stop := context.WithCancel(ctx)
	store.mu.Lock()
	store.down, store.onDown = true, stop
	store.mu.Unlock()
	if err := a.refreshIfDue(stopA, a.plan.View("live")); err == nil {
		t.Fatal("the stopped instance's refresh returned no error")
	}
	store.mu.Lock()
	store.down, store.onDown = false, nil
	store.mu.Unlock()

	// The refresh taken up by instance b (the interval having passed), and
	// the next one after it.
	for i := range 2 {
		if _, err := pool.Exec(ctx, `UPDATE projector.refreshes SET due_at = now() - interval '1s' WHERE view = 'live'`); err != nil {
			t.Fatal(err)
		}
		if err := b.refreshIfDue(ctx, b.plan.View("live")); err != nil {
			t.Fatal(err)
		}
		if d, ok := store.doc("1"); !ok || !d.Deleted {
			t.Errorf("after refresh %d taken up by another instance, the store holds post 1 %v (deleted %v, revision %d), "+
				"want it deleted: it expired, and the interrupted refresh's delete never reached the store", i+1, ok, d.Deleted, d.Rev)
		}
	}
	if d, ok := store.doc("2"); !ok || d.Deleted {
		t.Errorf("post 2: %+v, want it in the store", d)
	}
}

// TestRefreshAfterAbortedRebuildDeletesExpired_review32c: a rebuild's fill
// recomputes every document (RecomputeDocs, new revisions: a post the
// clock expired is computed deleted and its revision stamped so) and writes
// them to the new generation only (internal/rebuild fill: the new
// PostgreSQL table, the new Elasticsearch index). The rebuild is then
// aborted (`projector rebuild --abort`, or it fails verifying): the served
// generation is untouched and still holds the expired post. The view's
// refresh must take it out of the served generation; it skips it as
// "absent before and absent still", since its revision says deleted,
// although the served generation never had the delete. (The same holds
// for the whole time a rebuild runs before its swap.)
func TestRefreshAfterAbortedRebuildDeletesExpired_review32c(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	ctx := t.Context()
	served := &r32cStore{docs: map[string]sinks.Doc{}}
	plan := r27ePlan(t, refreshSources+`1h
    fields: { id: id, title: title }
    sinks: { postgres: {} }
`)
	eng, err := New(Options{Plan: plan, Pool: pool, Sinks: []Route{{Sink: served, Views: []string{"live"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	edge := time.Now().Add(time.Second)
	if err := eng.ProcessChanges(ctx, "posts", []debezium.Change{
		{Kind: debezium.KindChange, Op: debezium.OpUpdate, Position: debezium.Position{Lo: 1},
			After: map[string]any{"id": json.Number("1"), "title": "expires", "expires_at": edge.UTC().Format(time.RFC3339Nano)}},
	}); err != nil {
		t.Fatal(err)
	}
	if d, ok := served.doc("1"); !ok || d.Deleted {
		t.Fatalf("post 1 before its expiry: %+v, want it served", d)
	}
	// Wait for the wall clock to pass the instant post 1 expires at.
	for now := time.Now(); now.Before(edge.Add(10 * time.Millisecond)); now = time.Now() {
		<-time.After(edge.Add(10 * time.Millisecond).Sub(now))
	}

	// The rebuild's fill, as internal/rebuild runs it, into the new
	// generation's targets; then the rebuild is aborted.
	newGen := &r32cStore{docs: map[string]sinks.Doc{}}
	ids, _, err := eng.DocIDs(ctx, "live", "", 100)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := eng.RecomputeDocs(ctx, "live", ids)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.WriteDocs(ctx, []Route{{Sink: newGen, Views: []string{"live"}}}, docs); err != nil {
		t.Fatal(err)
	}

	if err := eng.refreshIfDue(ctx, eng.plan.View("live")); err != nil {
		t.Fatal(err)
	}
	if d, ok := served.doc("1"); !ok || !d.Deleted {
		t.Errorf("after a refresh, the served generation holds post 1 %v (deleted %v), want it deleted: it expired", ok, d.Deleted)
	}
}
