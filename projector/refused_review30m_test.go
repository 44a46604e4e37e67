package projector_test

// Review 30m (memory that grows with data): the docs a store refuses are
// kept, whole (every field), in Batch.Refused until the batch is complete
// (batch.go: b.Refused = append(b.Refused, refused...) after writeChunks and
// after writePending), across every chunk of a fan-out. A change embedded
// in N documents that a store refuses (a value out of a column's range, a
// mapping conflict: every document of the view carries it) then holds N
// documents at once, though the README says what a batch holds is bounded
// by the batch size, not by the fan-out ("Fan-out in chunks, with
// backpressure"), each chunk written and let go.

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

// refusingSink takes every doc, or refuses every doc while refuse is set;
// it keeps nothing.
type refusingSink struct {
	refuse  atomic.Bool
	mu      sync.Mutex
	written int
	refused int
}

func (s *refusingSink) Name() string { return "refusing" }
func (s *refusingSink) Write(_ context.Context, docs []sinks.Doc) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.refuse.Load() {
		s.written += len(docs)
		return nil
	}
	failed := make(map[int]error, len(docs))
	for i := range docs {
		failed[i] = sinks.Refused(errRefusedR30m)
	}
	s.refused += len(docs)
	return &sinks.BatchError{Failed: failed}
}

var errRefusedR30m = stringErr("value out of range for the column")

type stringErr string

func (e stringErr) Error() string { return string(e) }

const r30mFanoutYAML = `
sources:
  users:
    topic: t.public.users
    key: id
    columns: { id: bigint, name: text }
  orders:
    topic: t.public.orders
    key: id
    columns: { id: bigint, user_id: bigint, status: text, note: text }
views:
  order_view:
    from: orders
    fields:
      id: id
      status: status
      note: note
      customer:
        one: users
        on: { id: user_id }
        fields: { name: name }
    sinks:
      postgres: { table: order_view }
`

// TestR30mRefusedFanOutHeldWhole: one user embedded in 40,000 orders
// changes, in a batch, twice: once with a sink that takes every doc, once
// with one that refuses every doc. The engine computes and writes the docs
// 1,000 at a time (ChunkDocs) either way; with refusals it should hold at
// most a chunk of them more (about 1 MB here: 1,000 docs of about 1 KB),
// and the slim record of each refused doc the batch keeps to count and
// report it (about 100 bytes: 4 MB for 40,000), with the collector's
// slack: measured +8 to +13 MB. Held whole until the batch was complete,
// the 40,000 refused docs took +96 MB; the bound of 32 MB leaves the
// collector room under load and still fails that by a factor of three.
func TestR30mRefusedFanOutHeldWhole(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, advHead+r30mFanoutYAML, env("PG", "postgres://unused", "REDIS", "", "PREFIX", "x:"))
	s := &refusingSink{}
	eng, err := projector.New(projector.Options{Plan: plan, Pool: pool, ChunkDocs: 1000,
		Sinks: []projector.Route{{Sink: s, Views: []string{"order_view"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := &advRig{t: t, eng: eng, lsn: 100, batch: 10_000}
	const n = 40_000
	note := strings.Repeat("n", 400)
	recs := []projector.Record{r.rec("users", "r", map[string]any{"id": 1, "name": "u1"})}
	for i := 1; i <= n; i++ {
		recs = append(recs, r.rec("orders", "r", map[string]any{"id": i, "user_id": 1, "status": "paid", "note": note}))
	}
	r.process(recs)

	took := r.measure([]projector.Record{r.rec("users", "u", map[string]any{"id": 1, "name": "taken"})})
	t.Logf("fan-out %d, every doc taken: %s", n, took)

	s.refuse.Store(true)
	ctx := context.Background()
	recs = []projector.Record{r.rec("users", "u", map[string]any{"id": 1, "name": "refused"})}
	p := startPeak()
	b, err := eng.Prepare(ctx, recs)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Complete(ctx, b); err != nil {
		t.Fatal(err)
	}
	p.end()
	t.Logf("fan-out %d, every doc refused: %s; refusals held by the batch: %d", n, p, len(b.Refused))
	if len(b.Refused) != n {
		t.Errorf("%d refusals, want %d", len(b.Refused), n)
	}
	if extra := p.peakMB() - took.peakMB(); extra > 32 {
		t.Errorf("one change embedded in %d docs, every one refused by a store: peak heap +%.1f MB, +%.1f MB over the same change taken (> 32 MB; a chunk of 1,000 refused docs is about 1 MB, and a slim record of each about 4 MB): "+
			"every refused doc of every chunk is held whole in Batch.Refused until the batch is complete", n, p.peakMB(), extra)
	}
}
