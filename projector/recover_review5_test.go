package projector_test

import (
	"context"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// TestReview5RecoverStateFailureDeadLettersOnce: a crashed instance left
// order 1 pending; the store refuses it. Recovery writes it, hands the
// refusal on (the consumer dead-letters it), and then fails to forget the
// pending row: the query PostgreSQL has a hiccup (here a trigger fails the
// first DELETE). recoverRow (chunks.go) has already dropped what it did of
// the row (delete(e.recovered, id) before forgetPending), so the
// consumer's retry (recoverPending → c.retry) writes the row's docs again
// from scratch, the store refuses order 1 again and it is dead-lettered a
// second time. The batch path keeps what it wrote and refused across a
// failed finish (Batch.written, b.Refused) and dead-letters once;
// recoverRow's own comment says a call again after an error goes on after
// the chunks written, "which are neither written nor counted again".
// Expected: one dead letter.
func TestReview5RecoverStateFailureDeadLettersOnce(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	ctx := context.Background()
	s := leavePending(t, pool)
	if _, err := pool.Exec(ctx, `
		CREATE SEQUENCE review5_forget;
		CREATE FUNCTION review5_fail_once() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF nextval('review5_forget') = 1 THEN RAISE EXCEPTION 'the state is briefly down'; END IF;
			RETURN NULL;
		END $$;
		CREATE TRIGGER review5_fail_once BEFORE DELETE ON projector.pending_batches
			FOR EACH STATEMENT EXECUTE FUNCTION review5_fail_once();`); err != nil {
		t.Fatal(err)
	}
	_, plan := loadPlan(t, reviewHead+chunkYAML, nil)
	eng := chunkEngine(t, plan, pool, s)
	deadLettered := 0
	handOn := func(_ context.Context, refused []projector.Refusal) error {
		deadLettered += len(refused)
		return nil
	}
	// The consumer's retry: until it succeeds.
	failures := 0
	for {
		err := eng.RecoverRefusing(ctx, handOn)
		if err == nil {
			break
		}
		if failures++; failures > 3 {
			t.Fatalf("recovery keeps failing: %v", err)
		}
	}
	if failures != 1 {
		t.Fatalf("%d failures, want the one the trigger makes", failures)
	}
	if n := pendingRows(t, pool); n != 0 {
		t.Errorf("%d pending rows left", n)
	}
	if deadLettered != 1 {
		t.Errorf("order 1, refused by the store, is dead-lettered %d times across the retry of a failed forget", deadLettered)
	}
}
