package projector_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/kafkautil"
	"github.com/projectorhq/projector/internal/shop"
	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

// r38bGate wraps a member's sink: once armed, the writes after the first
// `after` ones hang (a store that takes requests and answers none) until
// opened.
type r38bGate struct {
	inner   projector.Sink
	writes  atomic.Int64
	docs    atomic.Int64
	mu      sync.Mutex
	armed   bool
	after   int64
	release chan struct{}
	held    chan struct{} // closed at the first held write
	heldOne *sync.Once
}

func r38bNewGate(inner projector.Sink) *r38bGate {
	return &r38bGate{inner: inner, release: make(chan struct{}), held: make(chan struct{}), heldOne: &sync.Once{}}
}

// arm holds every write after the next `after` ones.
func (g *r38bGate) arm(after int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.armed {
		g.release = make(chan struct{})
		g.held = make(chan struct{})
		g.heldOne = &sync.Once{}
	}
	g.armed = true
	g.after = g.writes.Load() + after
}

func (g *r38bGate) heldChan() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.held
}

func (g *r38bGate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.armed {
		g.armed = false
		close(g.release)
	}
}

func (g *r38bGate) Name() string { return g.inner.Name() }
func (g *r38bGate) Write(ctx context.Context, docs []sinks.Doc) error {
	n := g.writes.Add(1)
	g.mu.Lock()
	hold := g.armed && n > g.after
	release, held, once := g.release, g.held, g.heldOne
	g.mu.Unlock()
	if hold {
		once.Do(func() { close(held) })
		select {
		case <-release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	g.docs.Add(int64(len(docs)))
	return g.inner.Write(ctx, docs)
}

// r38bMember is one `projector run` of the shop (real PostgreSQL and
// Redis sinks, each behind a gate), with its own consumer options.
type r38bMember struct {
	name   string
	stack  *stack.Stack
	gates  []*r38bGate
	cancel context.CancelFunc
	stop   chan struct{}
	done   chan error
	log    *capturedLog
	once   sync.Once
	ended  error
}

func r38bStart(t *testing.T, cfg *config.Config, plan *projections.Plan, name string, batch int, extra ...kgo.Opt) *r38bMember {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var log *slog.Logger
	logs := &capturedLog{}
	if os.Getenv("PROJECTOR_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("member", name)
	} else {
		log = slog.New(logs)
	}
	st, err := stack.Wire(ctx, cfg, plan, log)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	m := &r38bMember{name: name, stack: st, cancel: cancel, stop: make(chan struct{}), done: make(chan error, 1), log: logs}
	var routes []projector.Route
	for _, r := range st.Engine.Routes() {
		g := r38bNewGate(r.Sink)
		m.gates = append(m.gates, g)
		routes = append(routes, projector.Route{Sink: g, Views: r.Views})
	}
	st.Engine.SetRoutes(routes)
	cons, err := projector.NewConsumer(st.Engine, projector.ConsumerOptions{
		Brokers: cfg.Kafka.Brokers, Group: cfg.Kafka.Group, ClientID: name,
		BatchSize: batch, ShutdownTimeout: 10 * time.Second,
		Extra:  append([]kgo.Opt{kgo.AllowAutoTopicCreation()}, extra...),
		Logger: log,
	})
	if err != nil {
		cancel()
		st.Close()
		t.Fatal(err)
	}
	go func() { m.done <- cons.Run(ctx, m.stop) }()
	t.Cleanup(func() { m.kill(t) })
	return m
}

func (m *r38bMember) arm(after int64) {
	for _, g := range m.gates {
		g.arm(after)
	}
}

func (m *r38bMember) open() {
	for _, g := range m.gates {
		g.open()
	}
}

// heldCh is closed once one of the member's sinks holds a write.
func (m *r38bMember) heldCh() <-chan struct{} {
	ch := make(chan struct{})
	first, last := m.gates[0].heldChan(), m.gates[len(m.gates)-1].heldChan()
	go func() {
		select {
		case <-first:
		case <-last:
		}
		close(ch)
	}()
	return ch
}

// wait returns the member's Run result once it ended.
func (m *r38bMember) wait() error {
	m.once.Do(func() { m.ended = <-m.done })
	return m.ended
}

func (m *r38bMember) exited() bool {
	select {
	case err := <-m.done:
		m.once.Do(func() { m.ended = err })
		return true
	default:
		return false
	}
}

// kill stops the member at once, as a crash does.
func (m *r38bMember) kill(t *testing.T) {
	if m.cancel == nil {
		return
	}
	m.cancel()
	m.cancel = nil
	m.open()
	if err := m.wait(); err != nil && !errors.Is(err, context.Canceled) {
		t.Logf("member %s: %v", m.name, err)
	}
	m.stack.Close()
}

// drain stops the member gracefully.
func (m *r38bMember) drain(t *testing.T) {
	t.Helper()
	close(m.stop)
	if err := m.wait(); err != nil {
		t.Errorf("member %s drain: %v", m.name, err)
	}
	m.cancel()
	m.cancel = nil
	m.stack.Close()
}

func r38bUser(k int) string { return fmt.Sprintf("%024x", 0xb00000+k) }

// r38bCluster is newCluster allowing short group sessions.
func r38bCluster(t *testing.T, partitions int32, topics ...string) *cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topics...), kfake.GroupMinSessionTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &cluster{addrs: c.ListenAddrs(), client: cl, adm: kadm.NewClient(cl), topics: topics}
}

// r38bCaughtUp waits until the group committed everything produced.
func r38bCaughtUp(t *testing.T, kc *cluster, group string, timeout time.Duration, members ...*r38bMember) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, err := kafkautil.CaughtUp(context.Background(), kc.adm, group, kc.topics...)
		if err == nil && ok {
			return
		}
		for _, m := range members {
			if m.cancel != nil && m.exited() {
				t.Fatalf("member %s stopped: %v\n%s", m.name, m.ended, m.log)
			}
		}
		if time.Now().After(deadline) {
			lag, _ := kc.adm.Lag(context.Background(), group)
			var b strings.Builder
			lag.Each(func(l kadm.DescribedGroupLag) {
				fmt.Fprintf(&b, "group %s state %s members %d\n", l.Group, l.State, len(l.Members))
				for _, m := range l.Members {
					fmt.Fprintf(&b, "  member %s %s\n", m.ClientID, m.MemberID)
				}
				for _, pl := range l.Lag.Sorted() {
					fmt.Fprintf(&b, "  %s/%d committed %d end %d lag %d\n", pl.Topic, pl.Partition, pl.Commit.At, pl.End.Offset, pl.Lag)
				}
			})
			for _, m := range members {
				fmt.Fprintf(&b, "%s's log:\n%s\n", m.name, m.log)
			}
			t.Fatalf("the group did not commit every record within %s\n%s", timeout, b.String())
		}
		select {
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// r38bMembers is the group's members by client id, once stable with want.
func r38bMembers(kc *cluster, group string, want int) map[string][]string {
	groups, err := kc.adm.DescribeGroups(context.Background(), group)
	if err != nil {
		return nil
	}
	g := groups[group]
	if g.Err != nil || g.State != "Stable" || len(g.Members) != want {
		return nil
	}
	out := map[string][]string{}
	for _, m := range g.Members {
		c, ok := m.Assigned.AsConsumer()
		if !ok {
			return nil
		}
		for _, tp := range c.Topics {
			for _, p := range tp.Partitions {
				out[m.ClientID] = append(out[m.ClientID], fmt.Sprintf("%s/%d", tp.Topic, p))
			}
		}
	}
	return out
}

// TestR38bStuckMemberPartitionsMoveAway: member A's sinks hang in the middle
// of a spilled fan-out (a user embedded in 300 orders, chunks of 20). B
// joins; A blocks the rebalance past its timeout and is dropped; B takes
// every partition, replays A's records and must converge while A is still
// stuck. Then A's sinks answer again: what A writes late (revisions
// older than B's) must change nothing, A must not move B's offsets back,
// and once everything is quiet again both views equal the oracle.
func TestR38bStuckMemberPartitionsMoveAway(t *testing.T) {
	pool, pgURL := testenv.Postgres(t)
	rdb, prefix := testenv.Redis(t)
	cleanRevKeys(t, pool, rdb, prefix)
	kc := r38bCluster(t, 3, shopTopics...)
	const group = "r38b-stuck"
	cfg, plan := loadPlan(t, shopConfig(t, kc, pgURL, prefix, group), nil)
	cfg.Kafka.BatchSize = 20 // chunks of 20 docs: a fan-out past 80 spills

	gen := shop.New(38)
	var msgs []shop.Message
	msgs = append(msgs, gen.PutUser(r38bUser(1), "Ada", "ada@example.com")...)
	msgs = append(msgs, gen.PutUser(r38bUser(2), "Bob", "bob@example.com")...)
	for i := int64(1); i <= 300; i++ {
		msgs = append(msgs, gen.PutOrder(i, r38bUser(1), "paid")...)
	}
	for i := int64(301); i <= 320; i++ {
		msgs = append(msgs, gen.PutOrder(i, r38bUser(2), "paid")...)
	}
	kc.produce(t, records(msgs)...)

	a := r38bStart(t, cfg, plan, "a", 500, shortSession()...)
	r38bCaughtUp(t, kc, group, time.Minute, a)

	// A's sinks hang after a few chunks of the fan-out.
	a.arm(4)
	msgs = gen.PutUser(r38bUser(1), "Ada Lovelace", "al@example.com")
	for i := int64(301); i <= 305; i++ {
		msgs = append(msgs, gen.PutOrder(i, r38bUser(1), "shipped")...)
	}
	kc.produce(t, records(msgs)...)
	select {
	case <-a.heldCh():
	case <-time.After(30 * time.Second):
		t.Fatalf("A's write never hung\n%s", a.log)
	}

	b := r38bStart(t, cfg, plan, "b", 37, shortSession()...)
	r38bCaughtUp(t, kc, group, time.Minute, b)
	t.Logf("B converged while A hangs")
	checkShop(t, gen, pool, rdb, prefix)
	if t.Failed() {
		t.Fatalf("the views differ from the oracle once B committed every record, A still hanging\nA's log:\n%s\nB's log:\n%s", a.log, b.log)
	}

	// More changes, taken by B; then A's stores answer again.
	msgs = gen.PutUser(r38bUser(1), "Ada King", "ak@example.com")
	msgs = append(msgs, gen.PutOrder(306, r38bUser(2), "paid")...)
	kc.produce(t, records(msgs)...)
	r38bCaughtUp(t, kc, group, time.Minute, b)
	committed := map[string]int64{}
	offs, err := kc.adm.FetchOffsetsForTopics(context.Background(), group, kc.topics...)
	if err != nil {
		t.Fatal(err)
	}
	offs.Each(func(o kadm.OffsetResponse) { committed[fmt.Sprintf("%s/%d", o.Topic, o.Partition)] = o.At })

	a.open()
	waitCond(t, "A and B to share the partitions", time.Minute, func() bool { return r38bMembers(kc, group, 2) != nil })
	r38bCaughtUp(t, kc, group, time.Minute, a, b)
	offs, err = kc.adm.FetchOffsetsForTopics(context.Background(), group, kc.topics...)
	if err != nil {
		t.Fatal(err)
	}
	offs.Each(func(o kadm.OffsetResponse) {
		if k := fmt.Sprintf("%s/%d", o.Topic, o.Partition); o.At < committed[k] {
			t.Errorf("%s committed at %d after A came back; B had committed %d", k, o.At, committed[k])
		}
	})
	checkShop(t, gen, pool, rdb, prefix)
	if t.Failed() {
		t.Logf("A's log:\n%s\nB's log:\n%s", a.log, b.log)
	}
	a.drain(t)
	b.drain(t)
}

// TestR38bRejoinedMemberCommitsWhatItProjected: A's write hangs; B joins,
// A blocks the rebalance past its timeout and is dropped; B takes both
// partitions. Then B's write hangs in turn, and A's write completes: A's
// commit is refused (UNKNOWN_MEMBER_ID) and A joins again under a new
// member ID. While that join waits for B (hung), A goes on consuming from
// where it was and projects the records B holds, whose commits it drops
// ("another member consumes them again"). B is dropped and crashes; A gets
// both partitions back, which franz-go counts as still owned (nothing
// added), so their committed offsets are not fetched again: A goes on from
// its own position, past the records whose commits it dropped. Every
// record is projected and written, but their offsets are never committed:
// the group stays behind on a quiet partition for good (lag, readiness,
// and a replay of all of it at the next rebalance).
func TestR38bRejoinedMemberCommitsWhatItProjected(t *testing.T) {
	pool, pgURL := testenv.Postgres(t)
	k := fencingKafka(t, 2)
	_, plan := loadPlan(t, widgetsYAML, env("BROKERS", brokers(k.cluster), "PG", pgURL, "REDIS", "redis://unused", "PREFIX", ""))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const group = "r38b-rejoin"
	k.widget(t, "p0-1", 0)
	k.widget(t, "p1-1", 1)

	sinkA := r38bNewGate(newViewSink())
	logA := &capturedLog{}
	startConsumer(t, ctx, newEngine(t, pool, plan, sinkA, nil), projector.ConsumerOptions{
		Brokers: k.addrs, Group: group, ClientID: "a", BatchSize: 100, Extra: shortSession(), Logger: slog.New(logA)})
	waitCond(t, "A to commit both partitions", time.Minute, func() bool { return k.committed(group, 0) == 1 && k.committed(group, 1) == 1 })

	// A's next write hangs.
	sinkA.arm(0)
	k.widget(t, "p0-2", 0)
	<-sinkA.heldChan()

	// B joins; A is dropped; B takes both partitions and commits p0-2.
	sinkB := r38bNewGate(newViewSink())
	bctx, crashB := context.WithCancel(ctx)
	defer crashB()
	startConsumer(t, bctx, newEngine(t, pool, plan, sinkB, nil), projector.ConsumerOptions{
		Brokers: k.addrs, Group: group, ClientID: "b", BatchSize: 5, Extra: shortSession()})
	waitCond(t, "B alone with both partitions", time.Minute, func() bool {
		asg := assignment(k, group, 1)
		return asg != nil && len(asg["b"]) == 2
	})
	waitCond(t, "B to commit p0-2", time.Minute, func() bool { return k.committed(group, 0) == 2 && k.committed(group, 1) == 1 })

	// B's next write hangs; more records come; A's write completes.
	sinkB.arm(0)
	const last = 30
	for i := 3; i <= last; i++ {
		k.widget(t, fmt.Sprintf("p0-%d", i), 0)
		k.widget(t, fmt.Sprintf("p1-%d", i), 1)
	}
	<-sinkB.heldChan()
	sinkA.open()

	// B is dropped in its turn, and crashes; A has both partitions.
	waitCond(t, "A alone with both partitions", time.Minute, func() bool {
		asg := assignment(k, group, 1)
		return asg != nil && len(asg["a"]) == 2
	})
	crashB()

	// Every record is projected (A wrote them all)...
	waitCond(t, "A to write every widget", time.Minute, func() bool {
		sinkA.inner.(*viewSink).mu.Lock()
		defer sinkA.inner.(*viewSink).mu.Unlock()
		for p := 0; p < 2; p++ {
			if _, ok := sinkA.inner.(*viewSink).docs[fmt.Sprintf("widget_view/p%d-%d", p, last)]; !ok {
				return false
			}
		}
		return true
	})
	// ...so the group, A alone, must commit the end of both partitions.
	ends, err := k.adm.ListEndOffsets(ctx, "cqrs.public.widgets")
	if err != nil {
		t.Fatal(err)
	}
	end := func(p int32) int64 { o, _ := ends.Lookup("cqrs.public.widgets", p); return o.Offset }
	if !eventually(5*time.Second, func() bool { return k.committed(group, 0) == end(0) && k.committed(group, 1) == end(1) }) {
		t.Errorf("committed offsets p0=%d p1=%d, 5s after A, alone in the group, wrote every record (ends %d and %d): A projected them while it rejoined and dropped their commits, and got the partitions back without consuming them again\nA's log:\n%s",
			k.committed(group, 0), k.committed(group, 1), end(0), end(1), logA)
	}
}

// TestR38bKilledMidSpilledFanOut: a user embedded in 2,000 orders is
// renamed; the member writing the spilled fan-out (chunks of 100) is
// killed after a few chunks, with its pending rows, and the next batch
// already applied, left in the state. A member with another batch size
// takes over: the views must equal the oracle and nothing stay pending.
func TestR38bKilledMidSpilledFanOut(t *testing.T) {
	pool, pgURL := testenv.Postgres(t)
	rdb, prefix := testenv.Redis(t)
	cleanRevKeys(t, pool, rdb, prefix)
	kc := r38bCluster(t, 2, shopTopics...)
	const group = "r38b-killed"
	cfg, plan := loadPlan(t, shopConfig(t, kc, pgURL, prefix, group), nil)
	cfg.Kafka.BatchSize = 100

	gen := shop.New(3838)
	msgs := gen.PutUser(r38bUser(1), "Ada", "ada@example.com")
	for i := int64(1); i <= 2000; i++ {
		msgs = append(msgs, gen.PutOrder(i, r38bUser(1), "paid")...)
	}
	kc.produce(t, records(msgs)...)
	a := r38bStart(t, cfg, plan, "a", 5000, shortSession()...)
	r38bCaughtUp(t, kc, group, time.Minute, a)

	a.arm(3)
	msgs = gen.PutUser(r38bUser(1), "Ada Lovelace", "al@example.com")
	msgs = append(msgs, gen.PutOrder(7, r38bUser(2), "paid")...)
	msgs = append(msgs, gen.PutUser(r38bUser(2), "Bob", "bob@example.com")...)
	kc.produce(t, records(msgs)...)
	select {
	case <-a.heldCh():
	case <-time.After(30 * time.Second):
		t.Fatalf("A's write never hung\n%s", a.log)
	}
	var pending int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM projector.pending`).Scan(&pending); err != nil {
		t.Fatal(err)
	}
	t.Logf("A killed with %d docs pending", pending)
	a.kill(t)

	b := r38bStart(t, cfg, plan, "b", 3, shortSession()...)
	r38bCaughtUp(t, kc, group, time.Minute, b)
	checkShop(t, gen, pool, rdb, prefix)
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM projector.pending`).Scan(&pending); err != nil {
		t.Fatal(err)
	}
	if pending != 0 {
		t.Errorf("%d docs still pending once B committed every record", pending)
	}
	b.drain(t)
}
