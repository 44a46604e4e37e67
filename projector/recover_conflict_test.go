package projector_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

// holdingSink refuses order 1 for a unique value another doc holds while
// held is set, as a store with a unique index would.
type holdingSink struct {
	*viewSink
	mu   sync.Mutex
	held bool
}

func (s *holdingSink) hold(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.held = on
}

func (s *holdingSink) Write(ctx context.Context, docs []sinks.Doc) error {
	s.mu.Lock()
	held := s.held
	s.mu.Unlock()
	failed := map[int]error{}
	var ok []sinks.Doc
	for i, d := range docs {
		if held && d.ID == "1" {
			failed[i] = sinks.Refused(fmt.Errorf("%w: unique value held by another order", sinks.ErrConflict))
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

// TestRecoverRefusalTriedAgain: a pending doc a crashed instance left is
// refused for a conflict when the next start recovers it; once the other
// doc gives the value up, the batch after it writes the recovered doc
// again, as it does a batch's own refusals.
func TestRecoverRefusalTriedAgain(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, reviewHead+chunkYAML, nil)
	s := &holdingSink{viewSink: newViewSink()}
	s.hold(true)
	ctx := context.Background()
	crashed := chunkEngine(t, plan, pool, s)
	if _, err := crashed.Process(ctx, chunkRecords(1)); err != nil {
		t.Fatal(err)
	}
	// The crashed instance recorded order 1 pending and never wrote it.
	if _, err := pool.Exec(ctx, `INSERT INTO projector.pending_batches (docs) VALUES ('[{"view": "order_view", "doc_id": "1", "key": {"id": 1}}]')`); err != nil {
		t.Fatal(err)
	}
	restarted := chunkEngine(t, plan, pool, s)
	if err := restarted.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	s.hold(false) // the other order gave the value up
	if _, err := restarted.Process(ctx, []projector.Record{chunkRec("users", 50, map[string]any{"id": 2, "name": "other"}, 50)}); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.docs["order_view/1"]; !ok || d.Deleted {
		t.Error("order 1, refused when recovered, was not written again after a later batch")
	}
}
