package projector_test

// The measuring rig of the adverse-shapes tests (adverse_test.go).

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

func adverseOn(t *testing.T) {
	t.Helper()
	if os.Getenv("PROJECTOR_ADVERSE") == "" {
		t.Skip("opt-in: PROJECTOR_ADVERSE=1")
	}
}

// ---------------------------------------------------------------------------
// Measurement.

// peak samples the heap (live and not yet swept objects) every millisecond
// between start and stop.
type peak struct {
	stop    chan struct{}
	done    chan struct{}
	base    uint64
	max     atomic.Uint64
	alloc0  uint64
	start   time.Time
	elapsed time.Duration
	alloc   uint64
}

func heapObjects() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func totalAlloc() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func startPeak() *peak {
	runtime.GC()
	runtime.GC()
	p := &peak{stop: make(chan struct{}), done: make(chan struct{}), base: heapObjects(), alloc0: totalAlloc()}
	p.max.Store(p.base)
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // resets VmHWM
	go func() {
		defer close(p.done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			if h := heapObjects(); h > p.max.Load() {
				p.max.Store(h)
			}
			select {
			case <-p.stop:
				return
			case <-tick.C:
			}
		}
	}()
	p.start = time.Now()
	return p
}

func (p *peak) end() {
	p.elapsed = time.Since(p.start)
	close(p.stop)
	<-p.done
	if h := heapObjects(); h > p.max.Load() {
		p.max.Store(h)
	}
	p.alloc = totalAlloc() - p.alloc0
}

// peakMB is the heap above the baseline at its peak, in MB.
func (p *peak) peakMB() float64  { return float64(p.max.Load()-p.base) / 1e6 }
func (p *peak) allocMB() float64 { return float64(p.alloc) / 1e6 }

func (p *peak) String() string {
	return fmt.Sprintf("%v, peak heap +%.1f MB, allocated %.1f MB, VmHWM %s", p.elapsed.Round(time.Millisecond), p.peakMB(), p.allocMB(), procStatus("VmHWM"))
}

func procStatus(field string) string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, field+":") {
			return strings.Join(strings.Fields(strings.TrimPrefix(l, field+":")), " ")
		}
	}
	return "?"
}

// ---------------------------------------------------------------------------
// Rigs.

// countSink counts the docs it is given and their JSON size, and keeps
// nothing.
type countSink struct {
	mu      sync.Mutex
	docs    int
	bytes   int
	biggest int
	measure bool
}

func (s *countSink) Name() string { return "count" }
func (s *countSink) Write(_ context.Context, docs []sinks.Doc) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.docs += len(docs)
	if s.measure {
		for _, d := range docs {
			n := len(must(json.Marshal(d.Fields)))
			s.bytes += n
			s.biggest = max(s.biggest, n)
		}
	}
	return nil
}

const advHead = `
version: 1
kafka: { brokers: "localhost:9092", group: g }
stores:
  postgres: { url: "${PG}" }
  redis: { url: "${REDIS}" }
admin: { listen: "off" }
log: { level: warn }
`

// advRig feeds records to one engine.
type advRig struct {
	t      *testing.T
	eng    *projector.Engine
	st     *stack.Stack // nil for a counting engine
	sink   *countSink
	lsn    int64
	offset int64
	batch  int
}

// newStackRig wires the real stores (PostgreSQL state and sink, Redis) as
// `projector run` does.
func newStackRig(t *testing.T, body string) (*advRig, string) {
	t.Helper()
	_, pgURL := testenv.Postgres(t)
	_, prefix := testenv.Redis(t)
	cfg, plan := loadPlan(t, advHead+body, env("PG", pgURL, "REDIS", testenv.RedisURL(t), "PREFIX", prefix))
	st, err := stack.Wire(context.Background(), cfg, plan, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return &advRig{t: t, eng: st.Engine, st: st, lsn: 100, batch: 10_000}, prefix
}

// newCountRig has the PostgreSQL state and a counting sink.
func newCountRig(t *testing.T, body string) *advRig {
	t.Helper()
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, advHead+body, env("PG", "postgres://unused", "REDIS", "", "PREFIX", "x:"))
	s := &countSink{}
	return &advRig{t: t, eng: newEngine(t, pool, plan, s, nil), sink: s, lsn: 100, batch: 10_000}
}

func (r *advRig) rec(table, op string, after map[string]any) projector.Record {
	r.lsn += 10
	r.offset++
	return projector.Record{Topic: "t.public." + table, Offset: r.offset,
		Key: must(json.Marshal(map[string]any{"id": after["id"]})), Value: envelope(table, op, nil, after, r.lsn)}
}

// process applies recs in batches of r.batch.
func (r *advRig) process(recs []projector.Record) {
	r.t.Helper()
	for i := 0; i < len(recs); i += r.batch {
		dead, err := r.eng.Process(context.Background(), recs[i:min(i+r.batch, len(recs))])
		if err != nil {
			r.t.Fatal(err)
		}
		if len(dead) > 0 {
			r.t.Fatalf("dead letter: %v", dead[0].Err)
		}
	}
}

// measure applies recs as one batch and measures it.
func (r *advRig) measure(recs []projector.Record) *peak {
	r.t.Helper()
	p := startPeak()
	dead, err := r.eng.Process(context.Background(), recs)
	p.end()
	if err != nil {
		r.t.Fatal(err)
	}
	if len(dead) > 0 {
		r.t.Fatalf("dead letter: %v", dead[0].Err)
	}
	return p
}
