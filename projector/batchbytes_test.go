package projector

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
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

// sized is a record of partition 0 with a value of n bytes.
func sized(n int) *kgo.Record { return &kgo.Record{Value: make([]byte, n)} }

// TestByBytes: a poll is cut into consecutive batches, each holding
// records until the next would pass the limit, keys and values counted; a
// record over the limit is a batch of its own.
func TestByBytes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		recs  []*kgo.Record
		limit int
		want  []int // records per batch
	}{
		{name: "empty", limit: 10},
		{name: "one record", recs: []*kgo.Record{sized(3)}, limit: 10, want: []int{1}},
		{name: "all fit", recs: []*kgo.Record{sized(3), sized(3), sized(3)}, limit: 10, want: []int{3}},
		{name: "cut before the limit is passed", recs: []*kgo.Record{sized(4), sized(4), sized(4), sized(4), sized(4)}, limit: 10, want: []int{2, 2, 1}},
		{name: "exactly the limit", recs: []*kgo.Record{sized(5), sized(5), sized(5)}, limit: 10, want: []int{2, 1}},
		{name: "a record over the limit alone", recs: []*kgo.Record{sized(2), sized(30), sized(2), sized(2)}, limit: 10, want: []int{1, 1, 2}},
		{name: "over the limit first", recs: []*kgo.Record{sized(30), sized(2)}, limit: 10, want: []int{1, 1}},
		{name: "over the limit last", recs: []*kgo.Record{sized(2), sized(30)}, limit: 10, want: []int{1, 1}},
		{name: "empty records", recs: []*kgo.Record{sized(0), sized(0), sized(10), sized(0)}, limit: 10, want: []int{4}},
		{name: "keys count", recs: []*kgo.Record{
			{Key: make([]byte, 6), Value: make([]byte, 4)}, {Key: make([]byte, 6), Value: make([]byte, 4)},
		}, limit: 19, want: []int{1, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := byBytes(tc.recs, tc.limit)
			var sizes []int
			for _, b := range got {
				sizes = append(sizes, len(b))
			}
			if !slices.Equal(sizes, tc.want) {
				t.Errorf("records per batch %v, want %v", sizes, tc.want)
			}
			if flat := slices.Concat(got...); !slices.Equal(flat, tc.recs) {
				t.Errorf("the batches do not hold the records in their order")
			}
		})
	}
}

// TestByBytesKeepsPartitionsInOrder: over random polls of interleaved
// partitions, the batches hold the poll in its order, none passes the
// limit but a record alone, none is cut sooner than it must be, and a
// batch's offsets (what committing it takes) are each partition's last
// record in it: a commit never passes a record of a later batch.
func TestByBytesKeepsPartitionsInOrder(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		next := map[int32]int64{}
		recs := make([]*kgo.Record, rnd.IntN(40))
		for i := range recs {
			p := rnd.Int32N(3)
			recs[i] = &kgo.Record{Topic: "t", Partition: p, Offset: next[p], Key: make([]byte, rnd.IntN(5)), Value: make([]byte, rnd.IntN(50))}
			next[p]++
		}
		limit := 1 + rnd.IntN(120)
		batches := byBytes(recs, limit)
		if flat := slices.Concat(batches...); !slices.Equal(flat, recs) {
			t.Fatalf("limit %d: the batches do not hold the poll in its order", limit)
		}
		committed := map[int32]int64{}
		for i, b := range batches {
			size := 0
			for _, r := range b {
				size += len(r.Key) + len(r.Value)
				if c, ok := committed[r.Partition]; ok && r.Offset <= c {
					t.Fatalf("limit %d: batch %d holds %d@%d, at or before an offset committed with an earlier batch", limit, i, r.Partition, r.Offset)
				}
			}
			if len(b) == 0 || size > limit && len(b) > 1 {
				t.Fatalf("limit %d: batch %d holds %d records of %d bytes", limit, i, len(b), size)
			}
			if i+1 < len(batches) {
				if n := batches[i+1][0]; size+len(n.Key)+len(n.Value) <= limit {
					t.Fatalf("limit %d: batch %d (%d bytes) cut before a record it had room for", limit, i, size)
				}
			}
			total := 0
			for _, o := range offsetsOf(b) {
				want := lastOf(b, o.last.Partition)
				if o.last.Offset != want.Offset || o.last.Value != nil {
					t.Fatalf("batch %d commits %d@%d, want %d@%d without its value", i, o.last.Partition, o.last.Offset, want.Partition, want.Offset)
				}
				committed[o.last.Partition] = o.last.Offset
				total += o.records
			}
			if total != len(b) {
				t.Fatalf("batch %d: offsets count %d records of %d", i, total, len(b))
			}
		}
	}
}

// lastOf is the last record of partition p in recs.
func lastOf(recs []*kgo.Record, p int32) *kgo.Record {
	for _, r := range slices.Backward(recs) {
		if r.Partition == p {
			return r
		}
	}
	return nil
}

// bytesYAML projects the widgets one to one (a record, a doc).
const bytesYAML = `version: 1
kafka: { brokers: "${BROKERS}", group: batch-bytes }
stores: { postgres: { url: "${PG}" } }
errors: { tolerance: "${TOLERANCE}" }
sources:
  widgets:
    topic: cqrs.public.widgets
    key: id
    columns: { id: text, name: text, active: boolean }
views:
  widget_view:
    from: widgets
    fields: { id: id, title: name, active: active }
    sinks: { postgres: {} }
`

// titleSink keeps the length of every doc's title, and the bytes of
// titles of each write: a batch's docs come in one write.
type titleSink struct {
	mu     sync.Mutex
	titles map[string]int // doc id → title length
	writes []int          // bytes of titles per write
}

func (s *titleSink) Name() string { return "titles" }
func (s *titleSink) Write(_ context.Context, docs []sinks.Doc) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, d := range docs {
		title, _ := d.Fields["title"].(string)
		s.titles[d.ID] = len(title)
		n += len(title)
	}
	s.writes = append(s.writes, n)
	return nil
}

// bytesRig is a one-partition cluster holding records, and an engine on a
// fresh state writing to a titleSink.
type bytesRig struct {
	addrs []string
	adm   *kadm.Client
	pool  *pgxpool.Pool
	eng   *Engine
	sink  *titleSink
	none  bool // errors.tolerance: none
}

func newBytesRig(t *testing.T, tolerance string, recs ...*kgo.Record) *bytesRig {
	t.Helper()
	fake, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "cqrs.public.widgets"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(fake.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	pool, pgURL := testenv.Postgres(t)
	vars := map[string]string{"BROKERS": strings.Join(fake.ListenAddrs(), ","), "PG": pgURL, "TOLERANCE": tolerance}
	cfg, err := config.Parse("test.yaml", []byte(bytesYAML), func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sink := &titleSink{titles: map[string]int{}}
	eng, err := New(Options{Plan: plan, Pool: pool, Sinks: []Route{{Sink: sink, Views: []string{"widget_view"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &bytesRig{addrs: fake.ListenAddrs(), adm: kadm.NewClient(cl), pool: pool, eng: eng, sink: sink, none: tolerance == "none"}
}

// run starts a consumer of batches of at most limit bytes; stop stops it
// gracefully, done gives what Run returned.
func (r *bytesRig) run(t *testing.T, limit int) (stop chan struct{}, done chan error) {
	t.Helper()
	return runConsumer(t, r.eng, ConsumerOptions{
		Brokers: r.addrs, Group: "batch-bytes", ClientID: "test", BatchBytes: limit,
		StopOnError: r.none,
		// One poll takes every record, as on a busy topic.
		Extra: []kgo.Opt{kgo.FetchMaxPartitionBytes(8 << 20)},
	})
}

// runConsumer runs a consumer of eng until the test ends, or stop is
// closed; done gets what Run returned.
func runConsumer(t *testing.T, eng *Engine, opts ConsumerOptions) (stop chan struct{}, done chan error) {
	t.Helper()
	c, err := NewConsumer(eng, opts)
	if err != nil {
		t.Fatal(err)
	}
	stop, done = make(chan struct{}), make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { done <- c.Run(ctx, stop) }()
	t.Cleanup(func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Error("the consumer did not stop")
		}
		cancel()
	})
	return stop, done
}

// committed is the group's committed offset of partition 0 (-1: none).
func (r *bytesRig) committed(t *testing.T) int64 {
	t.Helper()
	offs, err := r.adm.FetchOffsets(context.Background(), "batch-bytes")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := offs.Lookup("cqrs.public.widgets", 0); ok && o.Err == nil {
		return o.At
	}
	return -1
}

// bigWidget is the create of widget id whose name is n bytes of text.
func bigWidget(t *testing.T, id string, lsn, n int) *kgo.Record {
	t.Helper()
	value, err := json.Marshal(map[string]any{
		"before": nil,
		"after":  map[string]any{"id": id, "name": strings.Repeat(id[len(id)-1:], n), "active": true},
		"source": map[string]any{"version": "2.7.3.Final", "connector": "postgresql", "name": "cqrs", "ts_ms": 1790710562903,
			"snapshot": "false", "db": "cqrs_write", "schema": "public", "table": "widgets", "txId": 65249 + lsn, "lsn": 314477488 + lsn},
		"op": "c", "ts_ms": 1790710563391,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &kgo.Record{Topic: "cqrs.public.widgets", Key: []byte(`{"id":"` + id + `"}`), Value: value}
}

const (
	bytesLimit = 256 << 10 // kafka.batch_bytes of the tests
	titleBytes = 60000     // four records fit in a batch, five do not
)

// TestBatchBytesBoundsBatches: 40 records of 60 KB polled at once are
// projected in batches of at most 256 KB (four records), every one of
// them is written, and the group's committed offset reaches the end. All
// 40 in one poll were one batch of 2.4 MB before.
func TestBatchBytesBoundsBatches(t *testing.T) {
	var recs []*kgo.Record
	for i := range 40 {
		recs = append(recs, bigWidget(t, fmt.Sprintf("w%d", i), i, titleBytes))
	}
	r := newBytesRig(t, "all", recs...)
	_, done := r.run(t, bytesLimit)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	caught := make(chan error, 1)
	go func() {
		caught <- kafkautil.WaitCaughtUp(ctx, r.adm, "batch-bytes", 90*time.Second, "cqrs.public.widgets")
	}()
	select {
	case err := <-caught:
		if err != nil {
			t.Fatal(err)
		}
	case err := <-done:
		t.Fatalf("the consumer stopped before catching up: %v", err)
	}
	if got := r.committed(t); got != 40 {
		t.Errorf("committed offset %d, want 40", got)
	}
	r.sink.mu.Lock()
	defer r.sink.mu.Unlock()
	for i := range 40 {
		if n := r.sink.titles[fmt.Sprintf("w%d", i)]; n != titleBytes {
			t.Errorf("w%d: title of %d bytes written, want %d", i, n, titleBytes)
		}
	}
	for i, n := range r.sink.writes {
		if n > bytesLimit {
			t.Errorf("write %d of %d holds %d bytes of titles (%d records): its batch passed kafka.batch_bytes (%d)", i, len(r.sink.writes), n, n/titleBytes, bytesLimit)
		}
	}
}

// TestBatchBytesStopsAtTheBadBatch: with errors.tolerance none, a bad
// record in the second batch of a poll stops the consumer as it would at
// the end of a poll: the batch before it is written and committed, the
// bad record is not committed, and no batch after it is applied to the
// state.
func TestBatchBytesStopsAtTheBadBatch(t *testing.T) {
	var recs []*kgo.Record
	for i := range 12 {
		recs = append(recs, bigWidget(t, fmt.Sprintf("w%d", i), i, titleBytes))
	}
	const bad = 5
	recs[bad].Value = []byte("not json " + strings.Repeat("x", titleBytes))
	r := newBytesRig(t, "none", recs...)
	_, done := r.run(t, bytesLimit)
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("@%d", bad)) || !strings.Contains(err.Error(), "tolerance") {
			t.Fatalf("the consumer stopped with %v; want the bad record's position and the policy", err)
		}
		done <- nil // for the cleanup
	case <-time.After(time.Minute):
		t.Fatal("the consumer did not stop on the bad record")
	}
	// The batches are of four records: the bad one's holds none past 8.
	if got := r.committed(t); got < 1 || got > bad {
		t.Errorf("committed offset %d, want the batches before the bad record's committed, and not it (1 to %d)", got, bad)
	}
	rows, err := r.pool.Query(context.Background(), `SELECT data->>'id' FROM projector.state_widgets`)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"w9", "w10", "w11"} {
		if slices.Contains(ids, id) {
			t.Errorf("%s, of a batch after the bad record's, was applied to the state (%v)", id, ids)
		}
	}
}
