package rebuild

// Session 17 (memory that grows with data): `rebuild --from signal` kept the
// key of every row the snapshot's window carried (signal.go,
// snapshotWindow.seen) until the rows no record carried were deleted, so
// re-reading a table of 100 million rows held gigabytes. What it holds
// must not grow with the table, while a row no record carried and no
// change wrote since the signal is still deleted.

import (
	"context"
	"encoding/json"
	"iter"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/internal/rebuild/registry"
)

// s17CodesTable is the PostgreSQL table public.codes behind the codes
// source of s17CodesYAML, as a fakeConnector snapshots it: the codes from
// first to last. It makes a chunk's reads as the connector sends them,
// and they are compressed on their way to Kafka (the in-process cluster
// keeps them so): their keys are 2 kB long (s17Code) but alike.
type s17CodesTable struct {
	mu          sync.Mutex
	first, last int64
	lsn         int64
}

const s17ScanChunk = 100

func (c *s17CodesTable) chunk(i int) []*kgo.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	from := c.first + int64(i)*s17ScanChunk
	if from > c.last {
		return nil
	}
	c.lsn += 8
	recs := make([]*kgo.Record, 0, s17ScanChunk)
	for n := from; n < from+s17ScanChunk && n <= c.last; n++ {
		key, _ := json.Marshal(map[string]any{"code": s17Code(n)})
		value, _ := json.Marshal(map[string]any{
			"source": map[string]any{"connector": "postgresql", "snapshot": "incremental", "lsn": c.lsn},
			"op":     "r", "before": nil, "after": map[string]any{"code": s17Code(n), "qty": n},
		})
		recs = append(recs, &kgo.Record{Topic: "shop.public.codes", Partition: 0, Key: key, Value: value})
	}
	return recs
}

func (c *s17CodesTable) scan() [][]*kgo.Record {
	var out [][]*kgo.Record
	for _, recs := range scanChunks(c) {
		out = append(out, recs)
	}
	return out
}

func (c *s17CodesTable) stream(context.Context) ([]*kgo.Record, error) { return nil, nil }

// set makes the table hold the codes from first to last.
func (c *s17CodesTable) set(first, last int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.first, c.last = first, last
}

// chunkedSource is a fakeSource that makes each chunk's records when
// asked (nil past the last): a connector holding a big table's reads at
// once would weigh more than the rebuild measured beside it.
type chunkedSource interface {
	chunk(i int) []*kgo.Record
}

// scanChunks gives the chunks of src's scan, one at a time when src makes
// them so.
func scanChunks(src fakeSource) iter.Seq2[int, []*kgo.Record] {
	c, ok := src.(chunkedSource)
	if !ok {
		return slices.All(src.scan())
	}
	return func(yield func(int, []*kgo.Record) bool) {
		for i := 0; ; i++ {
			recs := c.chunk(i)
			if recs == nil || !yield(i, recs) {
				return
			}
		}
	}
}

// TestS17SignalWindowHeapIndependentOfTableSize: a rebuild --from signal of
// a table of 2,000 rows, then of the same table grown to 22,000 rows less
// the 100 first ones, gone from it without a delete event. The second
// deletes those 100 state rows. Batches (kafka.batch_bytes 256 kB) and
// fetches (64 kB) are alike in both. The in-process Kafka keeps what the
// connector sends, which stays once the rebuild is over: what the rebuild
// holds in the snapshot's window is its live heap there less what stays.
// The second's must not exceed the first's by what the 19,900 more keys
// weigh (about 40 MB of text): 12 MB at most, what batches, fetches and
// the connector's chunks in flight may differ by.
func TestS17SignalWindowHeapIndependentOfTableSize(t *testing.T) {
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "shop.public.codes", "shop-signal", "shop.notifications"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	f := newFixtureYAML(t, strings.Replace(s17CodesYAML, "group: codes }", "group: codes, batch_bytes: 262144 }", 1), strings.Join(kc.ListenAddrs(), ","), "")
	f.startDaemon()
	ctx := context.Background()
	table := &s17CodesTable{}
	newFakeConnector(t, kc.ListenAddrs(), "shop", "public.codes", table, false)
	rebuild := func(read, deleted int64) float64 {
		t.Helper()
		var res Result
		var err error
		held := s17HeldByPhase(func(p Progress) {
			env, oerr := Open(ctx, f.cfg, f.plan, nil)
			if oerr != nil {
				err = oerr
				return
			}
			defer env.Close() // its connections' buffers are not what stays
			res, err = Run(ctx, env, Options{View: "code_view", From: registry.SourceSignal, Keep: 0, Chunk: 500, ReplayIdle: 2 * time.Second, Progress: p,
				Kafka: []kgo.Opt{kgo.FetchMaxBytes(64 << 10), kgo.FetchMaxPartitionBytes(64 << 10)}})
		})
		if err != nil {
			t.Fatalf("rebuild --from signal: %v", err)
		}
		if res.Replayed != read || res.SourceDeleted != deleted {
			t.Errorf("replayed %d records and deleted %d state rows, want %d and %d", res.Replayed, res.SourceDeleted, read, deleted)
		}
		window := held["snapshot"] - held["after"]
		t.Logf("rebuild --from signal reading %d rows: live heap %+.1f MB at most in the snapshot's window over what stays (by phase: %s)", read, window, s17Phases(held))
		return window
	}
	table.set(1, 2_000)
	small := rebuild(2_000, 0)
	table.set(101, 22_000)
	big := rebuild(21_900, 100)
	if live, gone := s17LiveCodes(t, f, 100); live != 21_900 || gone != 0 {
		t.Errorf("the state holds %d live rows, %d of them gone from the source; want 21,900 and 0", live, gone)
	}
	if extra := big - small; extra > 12 {
		t.Errorf("rebuild --from signal reading 21,900 rows: live heap %+.1f MB in the snapshot's window, %+.1f MB over reading 2,000 (> 12 MB; the 19,900 more keys weigh about 40 MB): "+
			"the rebuild holds every key the snapshot carried", big, extra)
	}
}
