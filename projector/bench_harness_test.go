package projector_test

// What the engine benchmarks share: Kafka, members, CPU and stats accounting.

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/benchutil"
	"github.com/projectorhq/projector/internal/kafkautil"
	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/projector"
)

// pgCPU tracks the CPU time of the PostgreSQL backends serving the
// benchmark's database (each benchmark has one of its own), read from /proc:
// the query PostgreSQL runs on this machine. Zero where /proc is missing.
type pgCPU struct {
	pool  *pgxpool.Pool
	start map[int]time.Duration
}

func (c *pgCPU) backends(tb testing.TB) map[int]time.Duration {
	tb.Helper()
	rows, err := c.pool.Query(context.Background(), `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	if err != nil {
		tb.Fatal(err)
	}
	out := map[int]time.Duration{}
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			tb.Fatal(err)
		}
		if cpu, err := benchutil.ProcCPU(pid); err == nil {
			out[pid] = cpu
		}
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// begin starts a measurement.
func (c *pgCPU) begin(tb testing.TB) { c.start = c.backends(tb) }

// used is the CPU the backends used since begin (backends that came and
// went in between are missed).
func (c *pgCPU) used(tb testing.TB) time.Duration {
	var d time.Duration
	for pid, cpu := range c.backends(tb) {
		d += cpu - c.start[pid]
	}
	return d
}

// ---------------------------------------------------------------------------
// Harness: the helpers of harness_test.go take *testing.T; these take
// testing.TB.

type benchKafka struct {
	cluster *kfake.Cluster
	addrs   []string
	client  *kgo.Client
	adm     *kadm.Client
	topics  []string
}

// newBenchKafka starts an in-process Kafka with the topics and a producer
// client with opts.
func newBenchKafka(tb testing.TB, partitions int32, opts []kgo.Opt, topics ...string) *benchKafka {
	tb.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topics...))
	if err != nil {
		tb.Fatal(err)
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...)}, opts...)...)
	if err != nil {
		c.Close()
		tb.Fatal(err)
	}
	k := &benchKafka{cluster: c, addrs: c.ListenAddrs(), client: cl, adm: kadm.NewClient(cl), topics: topics}
	tb.Cleanup(k.close)
	return k
}

func (k *benchKafka) close() {
	if k.cluster != nil {
		k.client.Close()
		k.cluster.Close()
		k.cluster = nil
	}
}

func (k *benchKafka) produce(tb testing.TB, recs []*kgo.Record) {
	tb.Helper()
	if err := k.client.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		tb.Fatal(err)
	}
}

// waitCommitted waits until group has committed every offset produced so
// far, checking every 5 ms.
func (k *benchKafka) waitCommitted(tb testing.TB, group string, m *benchMember) {
	tb.Helper()
	ctx := context.Background()
	deadline := time.NewTimer(10 * time.Minute)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, err := kafkautil.CaughtUp(ctx, k.adm, group, k.topics...)
		if ok {
			return
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			tb.Fatalf("group %s did not catch up (last error: %v)", group, err)
		case err := <-m.done:
			tb.Fatalf("member stopped before catching up: %v", err)
		}
	}
}

func brokersOf(addrs []string) string { return strings.Join(addrs, ",") }

// parsePlan is loadPlan for benchmarks.
func parsePlan(tb testing.TB, yaml string, vars map[string]string) (*config.Config, *projections.Plan) {
	tb.Helper()
	cfg, err := config.Parse("bench.yaml", []byte(yaml), func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	})
	if err != nil {
		tb.Fatalf("config:\n%v", err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		tb.Fatalf("plan:\n%v", err)
	}
	return cfg, plan
}

// benchMember is one running `projector run`, wired like the daemon.
type benchMember struct {
	st     *stack.Stack
	cons   *projector.Consumer
	cancel context.CancelFunc
	stop   chan struct{}
	done   chan error
	closed bool
}

func startBenchMember(tb testing.TB, cfg *config.Config, plan *projections.Plan) *benchMember {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := stack.Wire(ctx, cfg, plan, nil)
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	cons, err := projector.NewConsumer(st.Engine, projector.ConsumerOptions{
		Brokers: cfg.Kafka.Brokers, Group: cfg.Kafka.Group, ClientID: "bench",
		BatchSize: cfg.Kafka.BatchSize, DeadLetterTopic: cfg.Kafka.DeadLetterTopic,
		Extra: []kgo.Opt{kgo.AllowAutoTopicCreation()},
	})
	if err != nil {
		cancel()
		st.Close()
		tb.Fatal(err)
	}
	m := &benchMember{st: st, cons: cons, cancel: cancel, stop: make(chan struct{}), done: make(chan error, 1)}
	go func() { m.done <- cons.Run(ctx, m.stop) }()
	tb.Cleanup(func() { m.drain(tb) })
	return m
}

// waitJoined waits until the member has been assigned its partitions.
func (m *benchMember) waitJoined(tb testing.TB) {
	tb.Helper()
	deadline := time.NewTimer(time.Minute)
	defer deadline.Stop()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !m.cons.Joined() {
		select {
		case <-tick.C:
		case <-deadline.C:
			tb.Fatal("no partitions assigned within a minute")
		case err := <-m.done:
			tb.Fatalf("member stopped: %v", err)
		}
	}
}

// drain stops the member gracefully (once).
func (m *benchMember) drain(tb testing.TB) {
	if m.closed {
		return
	}
	m.closed = true
	close(m.stop)
	if err := <-m.done; err != nil && !errors.Is(err, context.Canceled) {
		tb.Errorf("drain: %v", err)
	}
	m.cancel()
	m.st.Close()
}

// cleanRedis deletes, when the benchmark ends, the doc keys under prefix and
// their rev keys (which testenv.Redis does not know about), in pipelined
// batches.
func cleanRedis(tb testing.TB, rdb *goredis.Client, prefix string) {
	tb.Cleanup(func() {
		ctx := context.Background()
		for _, pattern := range []string{prefix + "*", "projector:rev:{" + prefix + "*"} {
			iter := rdb.Scan(ctx, 0, pattern, 10_000).Iterator()
			batch := make([]string, 0, 1000)
			flush := func() {
				if len(batch) > 0 {
					rdb.Unlink(ctx, batch...)
					batch = batch[:0]
				}
			}
			for iter.Next(ctx) {
				if batch = append(batch, iter.Val()); len(batch) == cap(batch) {
					flush()
				}
			}
			flush()
		}
	})
}

// reportCPU reports the CPU time per change of this process (the engine,
// and kfake serving it) and of the PostgreSQL backends: on a shared machine
// a steadier figure than wall time.
func reportCPU(b *testing.B, changes int, proc, pg time.Duration) {
	if proc > 0 {
		b.ReportMetric(float64(proc.Microseconds())/float64(changes), "proc_cpu_us/change")
	}
	if pg > 0 {
		b.ReportMetric(float64(pg.Microseconds())/float64(changes), "pg_cpu_us/change")
	}
}

// engineStats adds up what the members' registries say about their
// batches, to tell where the time went.
type engineStats struct {
	consumed, batches, batchSeconds float64
	sinkSeconds, docs               map[string]float64
}

func (s *engineStats) add(reg *prometheus.Registry) {
	if s.sinkSeconds == nil {
		s.sinkSeconds, s.docs = map[string]float64{}, map[string]float64{}
	}
	fams, err := reg.Gather()
	if err != nil {
		return
	}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			sink := ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "sink" {
					sink = l.GetValue()
				}
			}
			switch f.GetName() {
			case "projector_records_consumed_total":
				s.consumed += m.GetCounter().GetValue()
			case "projector_batch_seconds":
				s.batches += float64(m.GetHistogram().GetSampleCount())
				s.batchSeconds += m.GetHistogram().GetSampleSum()
			case "projector_sink_write_seconds":
				s.sinkSeconds[sink] += m.GetHistogram().GetSampleSum()
			case "projector_docs_written_total":
				s.docs[sink] += m.GetCounter().GetValue()
			}
		}
	}
}

// report adds the average batch and the shares of the measured time spent
// in Process (batch_%) and in each sink's writes.
func (s *engineStats) report(b *testing.B, elapsed time.Duration) {
	if s.batches == 0 {
		return
	}
	b.ReportMetric(s.consumed/s.batches, "records/batch")
	b.ReportMetric(100*s.batchSeconds/elapsed.Seconds(), "batch_%")
	for sink, sec := range s.sinkSeconds {
		b.ReportMetric(100*sec/elapsed.Seconds(), sink+"_%")
	}
}
