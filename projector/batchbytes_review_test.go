package projector

// Hostile review of f2ee66d (a poll cut into batches by bytes): transaction
// markers (control records) and two partitions interleaved in one poll, a
// graceful stop in the middle of a poll, and a second member joining.

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/kafkautil"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/sinks"
)

// brGate is a sink that keeps the ids it was given and holds the write
// numbered holdAt (1-based) until release is closed, closing held when it
// arrives.
type brGate struct {
	mu      sync.Mutex
	ids     map[string]bool
	writes  int
	holdAt  int
	held    chan struct{}
	release chan struct{}
}

func newBRGate(holdAt int) *brGate {
	return &brGate{ids: map[string]bool{}, holdAt: holdAt, held: make(chan struct{}), release: make(chan struct{})}
}

func (s *brGate) Name() string { return "gate" }
func (s *brGate) Write(ctx context.Context, docs []sinks.Doc) error {
	s.mu.Lock()
	s.writes++
	hold := s.writes == s.holdAt
	s.mu.Unlock()
	if hold {
		close(s.held)
		select {
		case <-s.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range docs {
		s.ids[d.ID] = true
	}
	return nil
}

func (s *brGate) has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ids[id]
}

// brRig is a two-partition widgets topic written in transactions, each
// transaction two records of ~60 KB on each partition, then its markers.
type brRig struct {
	pool  *pgxpool.Pool
	addrs []string
	adm   *kadm.Client
	plan  *projections.Plan
	recs  map[int32][]*kgo.Record // data records per partition, as read back
}

func newBRRig(t *testing.T, txns int) *brRig {
	t.Helper()
	fake, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "cqrs.public.widgets"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	addrs := fake.ListenAddrs()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	txn, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.TransactionalID("connect-br"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer txn.Close()
	ctx := context.Background()
	lsn := 0
	for i := range txns {
		if err := txn.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		var recs []*kgo.Record
		for _, p := range []int32{0, 1} {
			for j := range 2 {
				lsn++
				r := bigWidget(t, fmt.Sprintf("p%d-t%d-%d", p, i, j), lsn, titleBytes)
				r.Partition = p
				recs = append(recs, r)
			}
		}
		if err := txn.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := txn.EndTransaction(ctx, kgo.TryCommit); err != nil {
			t.Fatal(err)
		}
	}
	r := &brRig{addrs: addrs, adm: kadm.NewClient(cl), recs: map[int32][]*kgo.Record{}}
	// Read the data records back with their offsets.
	rd, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumeTopics("cqrs.public.widgets"), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for n := 0; n < 4*txns; {
		f := rd.PollFetches(rctx)
		if err := f.Err0(); err != nil {
			t.Fatal(err)
		}
		f.EachRecord(func(rec *kgo.Record) {
			r.recs[rec.Partition] = append(r.recs[rec.Partition], rec)
			n++
		})
	}
	pool, pgURL := testenv.Postgres(t)
	r.pool = pool
	vars := map[string]string{"BROKERS": strings.Join(addrs, ","), "PG": pgURL, "TOLERANCE": "all"}
	cfg, err := config.Parse("test.yaml", []byte(bytesYAML), func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if r.plan, err = projections.Compile(cfg); err != nil {
		t.Fatal(err)
	}
	return r
}

// engine is an engine on the rig's state writing to s.
func (r *brRig) engine(t *testing.T, s Sink) *Engine {
	t.Helper()
	eng, err := New(Options{Plan: r.plan, Pool: r.pool, Sinks: []Route{{Sink: s, Views: []string{"widget_view"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return eng
}

// run starts a member of group br with batches of at most limit bytes.
func (r *brRig) run(t *testing.T, eng *Engine, name string, limit int) (stop chan struct{}, done chan error) {
	t.Helper()
	return runConsumer(t, eng, ConsumerOptions{
		Brokers: r.addrs, Group: "br", ClientID: name, BatchBytes: limit,
		Extra: []kgo.Opt{kgo.FetchMaxPartitionBytes(8 << 20)},
	})
}

// committed is the group's committed offset of each partition (-1: none).
func (r *brRig) committed(t *testing.T) map[int32]int64 {
	t.Helper()
	offs, err := r.adm.FetchOffsets(context.Background(), "br")
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{0: -1, 1: -1}
	for p := range out {
		if o, ok := offs.Lookup("cqrs.public.widgets", p); ok && o.Err == nil {
			out[p] = o.At
		}
	}
	return out
}

// checkCommittedWritten fails for every record before a committed offset
// whose doc is not in s.
func (r *brRig) checkCommittedWritten(t *testing.T, s *brGate, committed map[int32]int64) {
	t.Helper()
	for p, recs := range r.recs {
		for _, rec := range recs {
			id := strings.TrimSuffix(strings.TrimPrefix(string(rec.Key), `{"id":"`), `"}`)
			if rec.Offset < committed[p] && !s.has(id) {
				t.Errorf("partition %d committed at %d, past record %d (%s), whose doc no sink got", p, committed[p], rec.Offset, id)
			}
		}
	}
}

// TestReviewBytesStopMidPollTransactional: a poll of two partitions written
// in transactions (each partition's records followed by commit markers) is
// cut into batches of two records; the member is stopped gracefully while
// the second batch's docs are being written. Whatever it committed, on
// either partition, must be written; a new member then takes everything
// else, and the group ends committed at each partition's end offset (past
// the last marker).
func TestReviewBytesStopMidPollTransactional(t *testing.T) {
	r := newBRRig(t, 5)
	gate := newBRGate(2)
	eng := r.engine(t, gate)
	stop, done := r.run(t, eng, "first", 2*titleBytes+1000)
	select {
	case <-gate.held:
	case err := <-done:
		t.Fatalf("the consumer stopped before its second write: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("no second write")
	}
	close(stop)
	close(gate.release)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("graceful stop: %v", err)
		}
		done <- nil
	case <-time.After(30 * time.Second):
		t.Fatal("the consumer did not stop")
	}
	first := r.committed(t)
	t.Logf("committed after the stop: %v", first)
	r.checkCommittedWritten(t, gate, first)

	again := newBRGate(0)
	eng2 := r.engine(t, again)
	_, done2 := r.run(t, eng2, "second", 2*titleBytes+1000)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	caught := make(chan error, 1)
	go func() { caught <- kafkautil.WaitCaughtUp(ctx, r.adm, "br", 30*time.Second, "cqrs.public.widgets") }()
	select {
	case err := <-caught:
		if err != nil {
			t.Fatal(err)
		}
	case err := <-done2:
		t.Fatalf("the second member stopped: %v", err)
	}
	ends, err := r.adm.ListEndOffsets(context.Background(), "cqrs.public.widgets")
	if err != nil {
		t.Fatal(err)
	}
	got := r.committed(t)
	for p := range got {
		end, _ := ends.Lookup("cqrs.public.widgets", p)
		if got[p] != end.Offset {
			t.Errorf("partition %d committed at %d, want its end %d", p, got[p], end.Offset)
		}
		for _, rec := range r.recs[p] {
			id := strings.TrimSuffix(strings.TrimPrefix(string(rec.Key), `{"id":"`), `"}`)
			if !gate.has(id) && !again.has(id) {
				t.Errorf("%s (partition %d offset %d) never written", id, p, rec.Offset)
			}
		}
	}
	marks, err := ReadWatermarks(context.Background(), r.pool, "", "widgets")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range marks {
		end, _ := ends.Lookup(m.Topic, m.Partition)
		if m.Offset != end.Offset {
			t.Errorf("watermark of partition %d at %d, want the end offset %d", m.Partition, m.Offset, end.Offset)
		}
	}
}
