package projector_test

// Hostile review of 087fccd (fan-out in chunks): deferred chunks that fail
// midway, refusals in deferred chunks, crashes and a second instance on the
// same state, watermarks, two join levels, aggregation views and deleted
// roots. The chunk is 4 documents throughout (chunkEngine and friends from
// chunks_test.go).

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

// crRefuser refuses every doc of every write, as a store with a constraint
// every doc breaks would.
type crRefuser struct {
	mu     sync.Mutex
	writes int
}

func (s *crRefuser) Name() string { return "refuser" }
func (s *crRefuser) Write(_ context.Context, docs []sinks.Doc) error {
	s.mu.Lock()
	s.writes++
	s.mu.Unlock()
	failed := make(map[int]error, len(docs))
	for i := range docs {
		failed[i] = sinks.Refused(errors.New("check constraint"))
	}
	return &sinks.BatchError{Failed: failed}
}

// crFlaky is a store that fails its write numbered failAt (1-based) and
// every one after it while down, calling onFail once, then works again once
// up is called.
type crFlaky struct {
	*viewSink
	mu     sync.Mutex
	writes int
	failAt int
	down   bool
	onFail func()
}

func (s *crFlaky) Name() string { return "flaky" }
func (s *crFlaky) Write(ctx context.Context, docs []sinks.Doc) error {
	s.mu.Lock()
	s.writes++
	if s.failAt > 0 && s.writes == s.failAt {
		s.down = true
		if s.onFail != nil {
			s.onFail()
			s.onFail = nil
		}
	}
	down := s.down
	s.mu.Unlock()
	if down {
		return errors.New("store down")
	}
	return s.viewSink.Write(ctx, docs)
}

func (s *crFlaky) up() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = false
}

// TestReviewDeferredRefusalsCountedOnceOnRetry: Complete may be called again
// after an error, and then "neither writes again nor counts and
// dead-letters the refusals twice" (CompleteUnless). A deferred chunk that
// one store refused while another store's write of the same chunk was cut
// off (the context ended) has its refusals appended to b.Refused and
// counted, and the call again recomputes and writes that chunk afresh,
// appending and counting them a second time: each refused doc of that
// chunk is then dead-lettered twice.
func TestReviewDeferredRefusalsCountedOnceOnRetry(t *testing.T) {
	const n = 3 * chunk // a chunk computed in the batch, two deferred
	_, plan := loadPlan(t, reviewHead+chunkYAML, nil)
	pool, _ := testenv.Postgres(t)
	reg := prometheus.NewRegistry()
	refuser := &crRefuser{}
	flaky := &crFlaky{viewSink: newViewSink()}
	eng, err := projector.New(projector.Options{Plan: plan, Pool: pool, ChunkDocs: chunk, Metrics: projector.NewMetrics(reg),
		Sinks: []projector.Route{{Sink: refuser, Views: viewNames(plan)}, {Sink: flaky, Views: viewNames(plan)}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Process(context.Background(), chunkRecords(n)); err != nil {
		t.Fatal(err)
	}
	before, _ := metricValue(t, reg, "projector_docs_refused_total", map[string]string{"sink": "refuser"})

	b, err := eng.Prepare(context.Background(), renamed("bob"))
	if err != nil {
		t.Fatal(err)
	}
	// The batch's own chunk is write 1 of this Complete, the first deferred
	// chunk write 2: the flaky store goes down there and the caller gives
	// up (its context ends), as a deadline would.
	ctx, cancel := context.WithCancel(context.Background())
	flaky.mu.Lock()
	flaky.failAt, flaky.onFail = flaky.writes+2, cancel
	flaky.mu.Unlock()
	if err := eng.Complete(ctx, b); err == nil {
		t.Fatal("Complete returned nil though its context ended while a store was down")
	}
	flaky.up()
	if err := eng.Complete(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	checkCustomers(t, flaky.viewSink, n, "bob")

	perDoc := map[string]int{}
	for _, r := range b.Refused {
		perDoc[r.Sink+" "+r.Doc.ID]++
	}
	var twice []string
	for k, c := range perDoc {
		if c != 1 {
			twice = append(twice, fmt.Sprintf("%s ×%d", k, c))
		}
	}
	slices.Sort(twice)
	if len(b.Refused) != n || len(twice) > 0 {
		t.Errorf("b.Refused holds %d refusals for %d refused docs; dead-lettered more than once: %v", len(b.Refused), n, twice)
	}
	after, _ := metricValue(t, reg, "projector_docs_refused_total", map[string]string{"sink": "refuser"})
	if got := after - before; got != n {
		t.Errorf("projector_docs_refused_total grew by %v for %d refused docs", got, n)
	}
}

// crEngine is an engine on pool (in memory when nil) computing chunkDocs
// documents at a time, writing every view to s.
func crEngine(t *testing.T, plan *projections.Plan, pool *pgxpool.Pool, chunkDocs int, s projector.Sink) *projector.Engine {
	t.Helper()
	eng, err := projector.New(projector.Options{Plan: plan, Pool: pool, Memory: pool == nil, ChunkDocs: chunkDocs,
		Sinks: []projector.Route{{Sink: s, Views: viewNames(plan)}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return eng
}

// TestReviewChunkedWorkloadAgainstModel is the model workload (every route
// kind: fan-out through two join levels, aggregation views, deletes, moved
// foreign keys) with a chunk of 1 and of 2 documents, so that nearly every
// batch defers most of its documents: after every batch, every doc a sink holds
// must equal the doc recomputed from the state, on PostgreSQL and in
// memory, and both must have written the same docs.
func TestReviewChunkedWorkloadAgainstModel(t *testing.T) {
	for i, order := range [][]int{{0, 1, 2, 3, 4}, {4, 3, 2, 1, 0}} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			pool, _ := testenv.Postgres(t)
			plan := modelPlan(t, order)
			pgSink, memSink := newViewSink(), newViewSink()
			pgEng := crEngine(t, plan, pool, 1+i, pgSink)
			memEng := crEngine(t, plan, nil, 1+i, memSink)
			g := newModelGen(uint64(70 + i))
			for range 600 {
				g.step()
			}
			processTwins(t, g, rand.New(rand.NewPCG(uint64(i), 11)), plan, pgEng, pgSink, memEng, memSink)
			checkState(t, pool, g)
			compareSinks(t, pgSink, memSink)
		})
	}
}

// TestReviewChunkedInstancesShareState: two engines on one state with a
// chunk of 3, each consuming some of the topics concurrently (two members
// of a group), their deferred chunks interleaving with the other's
// batches, writing to one sink guarded by revision. Every doc must end as
// the final state gives it: no doc computed from older state at a higher
// revision.
func TestReviewChunkedInstancesShareState(t *testing.T) {
	for _, seed := range []uint64{13, 14} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			pool, _ := testenv.Postgres(t)
			plan := modelPlan(t, []int{0, 1, 2, 3, 4})
			sink := newViewSink()
			a := crEngine(t, plan, pool, 3, sink)
			b := crEngine(t, plan, pool, 3, sink)
			g := newModelGen(seed)
			for range 1500 {
				g.step()
			}
			runSplit(t, g, seed, 20, a, b)
			checkState(t, pool, g)
			checkDocsAgainstRecompute(t, a, plan, sink, "two instances, chunks of 3")
		})
	}
}

// crHold is a sink over a viewSink that holds its write numbered holdAt
// (1-based, counted from when it is armed) until release is closed.
type crHold struct {
	*viewSink
	mu      sync.Mutex
	writes  int
	holdAt  int
	held    chan struct{}
	release chan struct{}
}

func newCRHold() *crHold { return &crHold{viewSink: newViewSink()} }

func (s *crHold) Name() string { return "hold" }

// arm holds the n-th write from now.
func (s *crHold) arm(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes, s.holdAt = 0, n
	s.held, s.release = make(chan struct{}), make(chan struct{})
}

func (s *crHold) Write(ctx context.Context, docs []sinks.Doc) error {
	s.mu.Lock()
	s.writes++
	hold := s.holdAt > 0 && s.writes == s.holdAt
	held, release := s.held, s.release
	s.mu.Unlock()
	if hold {
		close(held)
		select {
		case <-release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return s.viewSink.Write(ctx, docs)
}

// TestReviewWatermarkWaitsForDeferredChunks: a batch's watermarks tell
// readers its records are in every store; while a deferred chunk of its
// fan-out is not written, its partition's watermark must not move.
func TestReviewWatermarkWaitsForDeferredChunks(t *testing.T) {
	const n = 3 * chunk
	_, plan := loadPlan(t, reviewHead+chunkYAML, nil)
	pool, _ := testenv.Postgres(t)
	s := newCRHold()
	eng := crEngine(t, plan, pool, chunk, s)
	ctx := context.Background()
	if _, err := eng.Process(ctx, chunkRecords(n)); err != nil {
		t.Fatal(err)
	}
	userMark := func() int64 {
		marks, err := projector.ReadWatermarks(ctx, pool, "", "users")
		if err != nil {
			t.Fatal(err)
		}
		if len(marks) != 1 {
			t.Fatalf("watermarks of users: %+v", marks)
		}
		return marks[0].Offset
	}
	before := userMark()
	s.arm(3) // the batch's own chunk, the first deferred one, then held
	done := make(chan error, 1)
	go func() { _, err := eng.Process(ctx, renamed("bob")); done <- err }()
	select {
	case <-s.held:
	case err := <-done:
		t.Fatalf("Process returned before its last chunk was written: %v", err)
	}
	if got := userMark(); got != before {
		t.Errorf("users watermark moved to %d (from %d) while a deferred chunk of the batch was not written", got, before)
	}
	close(s.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := userMark(); got != 1001 {
		t.Errorf("users watermark %d after the batch, want 1001", got)
	}
	checkCustomers(t, s.viewSink, n, "bob")
}

// TestReviewDeferredChunksRecoveredWhileOwnerWrites: instance A stops (its
// context ends) with deferred chunks of a fan-out unwritten; instance B,
// sharing the state, recovers them, and while B's second chunk is held a
// third instance renames the user again. Whatever the interleaving, every
// order must end with the newest name.
func TestReviewDeferredChunksRecoveredWhileOwnerWrites(t *testing.T) {
	const n = 5 * chunk
	_, plan := loadPlan(t, reviewHead+chunkYAML, nil)
	pool, _ := testenv.Postgres(t)
	shared := newViewSink()
	sa := &chunkSink{viewSink: shared}
	a := crEngine(t, plan, pool, chunk, sa)
	hb := newCRHold()
	hb.viewSink = shared
	b := crEngine(t, plan, pool, chunk, hb)
	ctx := context.Background()
	if _, err := a.Process(ctx, chunkRecords(n)); err != nil {
		t.Fatal(err)
	}
	// A: the rename to bob is applied; its own chunk and one deferred chunk
	// are written, then A stops.
	actx, stop := context.WithCancel(ctx)
	sa.mu.Lock()
	sa.failAt, sa.stop = sa.writes+3, stop
	sa.mu.Unlock()
	if _, err := a.Process(actx, renamed("bob")); err == nil {
		t.Fatal("A's Process returned nil after it was stopped")
	}
	// B recovers A's pending docs; while its second chunk is held, C
	// renames the user to carl.
	hb.arm(2)
	rec := make(chan error, 1)
	go func() { rec <- b.Recover(ctx) }()
	select {
	case <-hb.held:
	case err := <-rec:
		t.Fatalf("Recover returned before its second chunk: %v", err)
	}
	c := crEngine(t, plan, pool, chunk, &chunkSink{viewSink: shared})
	if _, err := c.Process(ctx, []projector.Record{chunkRec("users", 2000, map[string]any{"id": 1, "name": "carl"}, 2000)}); err != nil {
		t.Fatal(err)
	}
	close(hb.release)
	if err := <-rec; err != nil {
		t.Fatal(err)
	}
	checkCustomers(t, shared, n, "carl")
}

// TestReviewDeferredStateOutageResumes: the state fails between two
// deferred chunks (their recompute cannot run); Complete returns ErrState,
// and called again once the state is back it goes on from the chunk that
// failed: every doc is written, the batch's pending docs are forgotten,
// and each refusal is in b.Refused once.
func TestReviewDeferredStateOutageResumes(t *testing.T) {
	const n = 4 * chunk
	_, plan := loadPlan(t, reviewHead+chunkYAML, nil)
	pool, _ := testenv.Postgres(t)
	hold := newCRHold()
	refuser := &crRefuser{}
	eng, err := projector.New(projector.Options{Plan: plan, Pool: pool, ChunkDocs: chunk,
		Sinks: []projector.Route{{Sink: hold, Views: viewNames(plan)}, {Sink: refuser, Views: viewNames(plan)}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := eng.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Process(ctx, chunkRecords(n)); err != nil {
		t.Fatal(err)
	}
	b, err := eng.Prepare(ctx, renamed("bob"))
	if err != nil {
		t.Fatal(err)
	}
	hold.arm(2) // the first deferred chunk, computed already
	done := make(chan error, 1)
	go func() { done <- eng.Complete(ctx, b) }()
	<-hold.held
	if _, err := pool.Exec(ctx, `ALTER TABLE projector.revs RENAME TO revs_away`); err != nil {
		t.Fatal(err)
	}
	close(hold.release)
	err = <-done
	if !errors.Is(err, projector.ErrState) {
		t.Fatalf("Complete with the revisions gone: %v, want ErrState", err)
	}
	if _, err := pool.Exec(ctx, `ALTER TABLE projector.revs_away RENAME TO revs`); err != nil {
		t.Fatal(err)
	}
	if err := eng.Complete(ctx, b); err != nil {
		t.Fatal(err)
	}
	checkCustomers(t, hold.viewSink, n, "bob")
	var pending int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM projector.pending`).Scan(&pending); err != nil {
		t.Fatal(err)
	}
	if pending != 0 {
		t.Errorf("%d docs still pending after Complete", pending)
	}
	perDoc := map[string]int{}
	for _, r := range b.Refused {
		perDoc[r.Doc.ID]++
	}
	if len(b.Refused) != n || len(perDoc) != n {
		t.Errorf("b.Refused holds %d refusals of %d docs, want each of the %d docs once", len(b.Refused), len(perDoc), n)
	}
}
