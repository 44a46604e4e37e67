package projector_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

// During a rolling deploy that adds user_view, instances of the earlier
// file (order_view only) and of the new one (order_view and user_view)
// share the state.
const rollingNewViewYAML = `
  user_view:
    from: users
    fields: { id: id, name: name }
    sinks:
      postgres: { table: user_view }
`

// toggledSink writes to a viewSink until down, and then fails every write
// after calling stop (the process stops there: its context ends); while
// refusing, it refuses user_view/1 for a unique value another doc holds.
type toggledSink struct {
	*viewSink
	mu       sync.Mutex
	down     bool
	refusing bool
	stop     func()
	writes   int
}

func (s *toggledSink) Write(ctx context.Context, docs []sinks.Doc) error {
	s.mu.Lock()
	down, refusing := s.down, s.refusing
	s.writes++
	s.mu.Unlock()
	if down {
		s.stop()
		return errors.New("the instance stopped")
	}
	failed := map[int]error{}
	var ok []sinks.Doc
	for i, d := range docs {
		if refusing && d.View == "user_view" && d.ID == "1" {
			failed[i] = sinks.Refused(fmt.Errorf("%w: unique value held by another user", sinks.ErrConflict))
			continue
		}
		ok = append(ok, d)
	}
	_ = s.viewSink.Write(ctx, ok)
	if len(failed) > 0 {
		return &sinks.BatchError{Failed: failed}
	}
	return nil
}

func (s *toggledSink) doc(key string) (sinks.Doc, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.viewSink.mu.Lock()
	defer s.viewSink.mu.Unlock()
	d, ok := s.docs[key]
	return d, ok
}

func (s *toggledSink) writeCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

// pendingDocs lists the pending docs as "view/id", oldest row first.
func pendingDocs(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT view || '/' || doc_id FROM projector.pending ORDER BY id, view, doc_id`)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPendingDocsOfAViewAnInstanceLacksWaitForOneThatDeclaresIt: an
// instance of the new file records user 1's change pending (user_view/1,
// and order_view/1 that embeds the user) and stops before writing it. An
// instance of the earlier file recovers the row: it writes order_view/1
// and leaves user_view/1 pending, however often it recovers, for an
// instance of the new file, which writes it.
func TestPendingDocsOfAViewAnInstanceLacksWaitForOneThatDeclaresIt(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, before := loadPlan(t, reviewHead+chunkYAML, nil)
	_, after := loadPlan(t, reviewHead+chunkYAML+rollingNewViewYAML, nil)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()

	dying := &toggledSink{viewSink: newViewSink(), stop: stop}
	newer := chunkEngine(t, after, pool, dying)
	order := debezium.Change{Kind: debezium.KindChange, Op: debezium.OpUpdate, Position: debezium.Position{Lo: 1},
		Key: map[string]any{"id": 1}, After: map[string]any{"id": 1, "user_id": 1, "status": "paid"}}
	if err := newer.ProcessChanges(ctx, "orders", []debezium.Change{order}); err != nil {
		t.Fatal(err)
	}
	dying.mu.Lock()
	dying.down = true
	dying.mu.Unlock()
	user := debezium.Change{Kind: debezium.KindChange, Op: debezium.OpUpdate, Position: debezium.Position{Lo: 2},
		Key: map[string]any{"id": 1}, After: map[string]any{"id": 1, "name": "ann"}}
	if err := newer.ProcessChanges(ctx, "users", []debezium.Change{user}); err == nil {
		t.Fatal("the batch of the instance that stopped while writing succeeded")
	}
	if got := pendingDocs(t, pool); fmt.Sprint(got) != "[order_view/1 user_view/1]" {
		t.Fatalf("pending after the new instance stopped: %v", got)
	}

	bg := context.Background()
	earlierSink := &toggledSink{viewSink: newViewSink()}
	earlier := chunkEngine(t, before, pool, earlierSink)
	if err := earlier.Recover(bg); err != nil {
		t.Fatal(err)
	}
	if d, ok := earlierSink.doc("order_view/1"); !ok || canonical(t, d.Fields["customer"]) != canonical(t, map[string]any{"name": "ann"}) {
		t.Errorf("order_view/1 recovered by the earlier instance: %v %v", ok, d.Fields)
	}
	if got := pendingDocs(t, pool); fmt.Sprint(got) != "[user_view/1]" {
		t.Errorf("pending after the earlier instance recovered: %v, want user_view/1 left for an instance declaring it", got)
	}
	writes := earlierSink.writeCount()
	if err := earlier.Recover(bg); err != nil {
		t.Fatal(err)
	}
	if got := pendingDocs(t, pool); fmt.Sprint(got) != "[user_view/1]" {
		t.Errorf("pending after the earlier instance recovered again: %v", got)
	}
	if n := earlierSink.writeCount(); n != writes {
		t.Errorf("the earlier instance wrote %d times recovering again, want nothing left for it", n-writes)
	}

	laterSink := &toggledSink{viewSink: newViewSink()}
	if err := chunkEngine(t, after, pool, laterSink).Recover(bg); err != nil {
		t.Fatal(err)
	}
	if d, ok := laterSink.doc("user_view/1"); !ok || d.Fields["name"] != "ann" {
		t.Errorf("user_view/1 after an instance of the new file recovered: %v %v, want ann", ok, d.Fields)
	}
	if got := pendingDocs(t, pool); len(got) != 0 {
		t.Errorf("pending once every doc was written: %v", got)
	}
}

// TestConflictsOfAViewAnInstanceLacksWaitForOneThatDeclaresIt: an instance
// of the new file sets user_view/1 aside for a conflict and stops. The
// batches of an instance of the earlier file leave it in the state; the
// next batch of an instance of the new file writes it.
func TestConflictsOfAViewAnInstanceLacksWaitForOneThatDeclaresIt(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, before := loadPlan(t, reviewHead+chunkYAML, nil)
	_, after := loadPlan(t, reviewHead+chunkYAML+rollingNewViewYAML, nil)
	ctx := context.Background()

	refusing := &toggledSink{viewSink: newViewSink(), refusing: true}
	if _, err := chunkEngine(t, after, pool, refusing).Process(ctx, userRec(1, 1, "ann")); err != nil {
		t.Fatal(err)
	}
	if n := conflictRows(t, pool); n != 1 {
		t.Fatalf("%d docs set aside, want user_view/1", n)
	}

	earlier := chunkEngine(t, before, pool, &toggledSink{viewSink: newViewSink()})
	for i := range int64(2) {
		if _, err := earlier.Process(ctx, []projector.Record{chunkRec("orders", 10+i, map[string]any{"id": 1, "user_id": 1, "status": "paid"}, 10+i)}); err != nil {
			t.Fatal(err)
		}
	}
	if n := conflictRows(t, pool); n != 1 {
		t.Errorf("%d docs set aside after the earlier instance's batches, want user_view/1 left for an instance declaring it", n)
	}

	laterSink := &toggledSink{viewSink: newViewSink()}
	if _, err := chunkEngine(t, after, pool, laterSink).Process(ctx, []projector.Record{chunkRec("orders", 20, map[string]any{"id": 2, "user_id": 1, "status": "paid"}, 20)}); err != nil {
		t.Fatal(err)
	}
	if d, ok := laterSink.doc("user_view/1"); !ok || d.Fields["name"] != "ann" {
		t.Errorf("user_view/1 after a batch of an instance of the new file: %v %v, want ann", ok, d.Fields)
	}
	if n := conflictRows(t, pool); n != 0 {
		t.Errorf("%d docs set aside once written, want none", n)
	}
}
