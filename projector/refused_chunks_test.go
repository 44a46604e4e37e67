package projector_test

// Refused docs are handed on (dead-lettered) a chunk at a time, as each
// chunk of a fan-out is written, and the batch keeps only which docs they
// were: whole, they would all be held until its last chunk.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

// nameRefuser refuses the docs whose customer is named refused, as a
// store with a constraint on it would, and keeps the others.
type nameRefuser struct {
	*viewSink
	refused string
}

func (s nameRefuser) Write(ctx context.Context, docs []sinks.Doc) error {
	failed := map[int]error{}
	var ok []sinks.Doc
	for i, d := range docs {
		if c, _ := d.Fields["customer"].(map[string]any); c != nil && c["name"] == s.refused {
			failed[i] = sinks.Refused(errors.New("customer name not allowed"))
			continue
		}
		ok = append(ok, d)
	}
	if err := s.viewSink.Write(ctx, ok); err != nil {
		return err
	}
	if len(failed) > 0 {
		return &sinks.BatchError{Failed: failed}
	}
	return nil
}

// TestRefusalsHandedOnPerChunk: a change embedded in several chunks of
// docs (deferred ones, and spilled ones past four chunks), every doc
// refused: each chunk's refusals are handed on whole (their fields and
// reason) once that chunk is written, never more than a chunk at once; a
// hand-on that fails is retried by the next Complete, which hands the same
// refusals on before writing anything more, and each refused doc is taken
// once; the batch's pending docs stay until every refusal was taken; and
// Batch.Refused lists every refused doc once, without its fields.
func TestRefusalsHandedOnPerChunk(t *testing.T) {
	for _, n := range []int{3 * chunk, 5*chunk + 1} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			pool, _ := testenv.Postgres(t)
			ctx := context.Background()
			_, plan := loadPlan(t, reviewHead+chunkYAML, nil)
			eng := chunkEngine(t, plan, pool, nameRefuser{viewSink: newViewSink(), refused: "bob"})
			if _, err := eng.Process(ctx, chunkRecords(n)); err != nil {
				t.Fatal(err)
			}
			b, err := eng.Prepare(ctx, renamed("bob"))
			if err != nil {
				t.Fatal(err)
			}
			h := newHandOnRig(t, 2)
			if err := eng.CompleteUnless(ctx, b, h.handOn, nil); !errors.Is(err, errDeadLetters) {
				t.Fatalf("Complete with the hand-on failing: %v, want its error", err)
			}
			if pendingRows(t, pool) == 0 {
				t.Error("the batch's pending docs were forgotten before their refusals were handed on")
			}
			if err := eng.CompleteUnless(ctx, b, h.handOn, nil); err != nil {
				t.Fatal(err)
			}
			if got := pendingRows(t, pool); got != 0 {
				t.Errorf("%d pending rows after Complete", got)
			}
			h.check(n)
			if len(b.Refused) != n {
				t.Errorf("Batch.Refused lists %d refusals, want %d", len(b.Refused), n)
			}
			for _, r := range b.Refused {
				if r.Doc.Fields != nil || r.Doc.ID == "" || r.Doc.View != "order_view" || r.Sink == "" ||
					!errors.Is(r.Err, sinks.ErrRefused) || !strings.Contains(r.Err.Error(), "customer name not allowed") {
					t.Errorf("Batch.Refused holds %+v: want the doc's view, id, sink and reason, not its fields", r)
				}
			}
		})
	}
}

// handOnRig hands on refused docs as the consumer's dead-lettering does,
// failing its call numbered failAt (1-based) as an unreachable topic
// would, and checks what it took.
type handOnRig struct {
	t       *testing.T
	failAt  int
	calls   int
	largest int
	taken   map[string]int
}

var errDeadLetters = errors.New("dead-letter topic unreachable")

func newHandOnRig(t *testing.T, failAt int) *handOnRig {
	return &handOnRig{t: t, failAt: failAt, taken: map[string]int{}}
}

func (h *handOnRig) handOn(_ context.Context, refused []projector.Refusal) error {
	h.calls++
	h.largest = max(h.largest, len(refused))
	if h.calls == h.failAt {
		return errDeadLetters
	}
	for _, r := range refused {
		c, _ := r.Doc.Fields["customer"].(map[string]any)
		if c == nil || c["name"] != "bob" || !strings.Contains(r.Err.Error(), "customer name not allowed") {
			h.t.Errorf("doc %s handed on with fields %v and reason %v: want the whole doc and why", r.Doc.ID, r.Doc.Fields, r.Err)
		}
		h.taken[r.Doc.ID]++
	}
	return nil
}

// check fails unless orders 1..n were each taken once, at most a chunk
// of them at a time.
func (h *handOnRig) check(n int) {
	h.t.Helper()
	if h.largest > chunk {
		h.t.Errorf("%d refusals handed on at once, more than a chunk of %d", h.largest, chunk)
	}
	for i := 1; i <= n; i++ {
		if id := fmt.Sprint(i); h.taken[id] != 1 {
			h.t.Errorf("order %s handed on %d times, want once", id, h.taken[id])
		}
	}
}

// TestRecoveredRefusalsHandedOnPerChunk: the docs a stopped instance left
// pending, every one refused when the next one recovers them, are handed
// on a chunk at a time as each is written; a hand-on that fails leaves
// the row pending, and the next Recover hands the same refusals on, each
// once, before it writes the rest and forgets the row.
func TestRecoveredRefusalsHandedOnPerChunk(t *testing.T) {
	const n = 3 * chunk
	pool, _ := testenv.Postgres(t)
	ctx := context.Background()
	_, plan := loadPlan(t, reviewHead+chunkYAML, nil)
	first := chunkEngine(t, plan, pool, newViewSink())
	if _, err := first.Process(ctx, chunkRecords(n)); err != nil {
		t.Fatal(err)
	}
	if _, err := first.Prepare(ctx, renamed("bob")); err != nil { // and stops before writing it
		t.Fatal(err)
	}
	eng := chunkEngine(t, plan, pool, nameRefuser{viewSink: newViewSink(), refused: "bob"})
	h := newHandOnRig(t, 2)
	if err := eng.RecoverRefusing(ctx, h.handOn); !errors.Is(err, errDeadLetters) {
		t.Fatalf("Recover with the hand-on failing: %v, want its error", err)
	}
	if pendingRows(t, pool) == 0 {
		t.Error("the pending row was forgotten before its refusals were handed on")
	}
	if err := eng.RecoverRefusing(ctx, h.handOn); err != nil {
		t.Fatal(err)
	}
	if got := pendingRows(t, pool); got != 0 {
		t.Errorf("%d pending rows after Recover", got)
	}
	h.check(n)
}

// TestRefusedFanOutDeadLettered: through the consumer, a change embedded
// in five chunks of docs, every one refused by the store: each refused
// doc reaches the dead-letter topic once, with its fields and reason,
// before the batch's offsets are committed.
func TestRefusedFanOutDeadLettered(t *testing.T) {
	const n = 5*chunk + 1
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, reviewHead+chunkYAML, nil)
	kc := newCluster(t, 1, "t.public.users", "t.public.orders")
	eng := chunkEngine(t, plan, pool, nameRefuser{viewSink: newViewSink(), refused: "bob"})
	c, err := projector.NewConsumer(eng, projector.ConsumerOptions{
		Brokers: kc.addrs, Group: "refused", ClientID: "test", DeadLetterTopic: "refused.dlq"})
	if err != nil {
		t.Fatal(err)
	}
	stop, done := make(chan struct{}), make(chan error, 1)
	go func() { done <- c.Run(context.Background(), stop) }()
	t.Cleanup(func() {
		close(stop)
		if err := <-done; err != nil {
			t.Errorf("consumer: %v", err)
		}
	})
	produce := func(recs []projector.Record) {
		for _, r := range recs {
			kc.produce(t, &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value})
		}
		kc.waitCaughtUp(t, "refused", done)
	}
	produce(chunkRecords(n))
	produce(renamed("bob"))

	// Committed: every dead letter is on the topic already.
	end, err := kc.adm.ListEndOffsets(context.Background(), "refused.dlq")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := end.Lookup("refused.dlq", 0); !ok || o.Offset != n {
		t.Fatalf("dead-letter topic ends at %d once the batch is committed, want %d", o.Offset, n)
	}
	perDoc := map[string]int{}
	for _, r := range readTopic(t, kc, "refused.dlq", n) {
		h := headers(r)
		perDoc[h["projector.doc_id"]]++
		if h["projector.view"] != "order_view" || !strings.Contains(h["projector.error"], "customer name not allowed") ||
			!strings.Contains(string(r.Value), `"name":"bob"`) {
			t.Errorf("dead letter %s with headers %v: want the refused doc, its view and reason", r.Value, h)
		}
	}
	for i := 1; i <= n; i++ {
		if id := fmt.Sprint(i); perDoc[id] != 1 {
			t.Errorf("order %s dead-lettered %d times, want once", id, perDoc[id])
		}
	}
}
