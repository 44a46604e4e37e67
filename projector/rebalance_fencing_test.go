package projector_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// fencingKafka is a kfake cluster allowing short group sessions, so that a
// member can be made to lose its session within a test.
func fencingKafka(t *testing.T, partitions int32) *ownKafka {
	t.Helper()
	return newOwnKafka(t, partitions, kfake.GroupMinSessionTimeout(100*time.Millisecond))
}

// zombie answers, in the broker's place, the heartbeats and offset
// commits of one member (the first that commits) while set: its
// heartbeats succeed (so it does not know its session expired) and its
// commits are refused with REBALANCE_IN_PROGRESS.
type zombie struct {
	mu        sync.Mutex
	member    string
	commits   bool // refuse the member's commits
	heartbeat bool // answer the member's heartbeats (its session expires)
	refused   chan struct{}
}

func installZombie(k *ownKafka) *zombie {
	z := &zombie{commits: true, refused: make(chan struct{}, 100)}
	k.fake.ControlKey(int16(kmsg.OffsetCommit), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		k.fake.KeepControl()
		req := kreq.(*kmsg.OffsetCommitRequest)
		z.mu.Lock()
		defer z.mu.Unlock()
		if z.member == "" {
			z.member = req.MemberID
		}
		if !z.commits || req.MemberID != z.member {
			return nil, nil, false
		}
		select {
		case z.refused <- struct{}{}:
		default:
		}
		return refusedCommit(req), nil, true
	})
	k.fake.ControlKey(int16(kmsg.Heartbeat), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		k.fake.KeepControl()
		req := kreq.(*kmsg.HeartbeatRequest)
		z.mu.Lock()
		defer z.mu.Unlock()
		if !z.heartbeat || req.MemberID != z.member {
			return nil, nil, false
		}
		resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
		resp.Version = req.Version
		return resp, nil, true
	})
	return z
}

func (z *zombie) set(commits, heartbeat bool) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.commits, z.heartbeat = commits, heartbeat
}

// capturedLog records the consumer's warnings and errors (franz-go's included).
type capturedLog struct {
	mu   sync.Mutex
	msgs []string
}

func (h *capturedLog) Enabled(context.Context, slog.Level) bool { return true }
func (h *capturedLog) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	if r.Level < slog.LevelWarn {
		if !strings.Contains(r.Message, "join returned") && !strings.Contains(r.Message, "new group session") && !strings.Contains(r.Message, "issuing commit") && !strings.Contains(r.Message, "synced") {
			return nil
		}
	}
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s=%v", a.Key, a.Value); return true })
	h.mu.Lock()
	defer h.mu.Unlock()
	h.msgs = append(h.msgs, b.String())
	return nil
}
func (h *capturedLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *capturedLog) WithGroup(string) slog.Handler      { return h }
func (h *capturedLog) has(s string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range h.msgs {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}
func (h *capturedLog) String() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Join(h.msgs, "\n")
}

func shortSession() []kgo.Opt {
	return []kgo.Opt{
		kgo.SessionTimeout(1500 * time.Millisecond),
		kgo.HeartbeatInterval(100 * time.Millisecond),
		kgo.RebalanceTimeout(3 * time.Second),
	}
}

// TestLostPartitionCommitNotRetried: A's offset commits fail; then
// A's session expires without A knowing (a zombie), B takes every
// partition and commits further; then A learns it lost its partitions
// (heartbeat: UNKNOWN_MEMBER_ID, OnPartitionsLost), rejoins and its
// commits work again. A's failed commits must not be retried under its new
// generation: they would move B's committed offset back.
func TestLostPartitionCommitNotRetried(t *testing.T) {
	pool, pgURL := testenv.Postgres(t)
	k := fencingKafka(t, 2)
	_, plan := loadPlan(t, widgetsYAML, env("BROKERS", brokers(k.cluster), "PG", pgURL, "REDIS", "redis://unused", "PREFIX", ""))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const group = "lost"

	k.widget(t, "p0-1", 0)
	k.widget(t, "p1-1", 1)
	z := installZombie(k)
	logA := &capturedLog{}
	startConsumer(t, ctx, newEngine(t, pool, plan, newViewSink(), nil), projector.ConsumerOptions{
		Brokers: k.addrs, Group: group, ClientID: "a", BatchSize: 100, Extra: shortSession(), Logger: slog.New(logA)})
	select {
	case <-z.refused:
	case <-ctx.Done():
		t.Fatal("A never committed")
	}

	// A's session expires at the broker; A's heartbeats are answered for it.
	z.set(true, true)
	waitCond(t, "A's session to expire", time.Minute, func() bool {
		g, err := k.adm.DescribeGroups(ctx, group)
		return err == nil && g[group].State == "Empty"
	})

	// B takes both partitions and commits past A's failed commits.
	startConsumer(t, ctx, newEngine(t, pool, plan, newViewSink(), nil), projector.ConsumerOptions{
		Brokers: k.addrs, Group: group, ClientID: "b", BatchSize: 100, Extra: shortSession()})
	waitCond(t, "B to commit both partitions", time.Minute, func() bool { return k.committed(group, 0) == 1 && k.committed(group, 1) == 1 })
	k.widget(t, "p0-2", 0)
	k.widget(t, "p1-2", 1)
	waitCond(t, "B to commit its second records", time.Minute, func() bool { return k.committed(group, 0) == 2 && k.committed(group, 1) == 2 })

	// A learns it lost its session; its commits work again.
	z.set(false, false)
	var asg map[string][]int32
	waitCond(t, "A and B to share the partitions", time.Minute, func() bool { asg = assignment(k, group, 2); return asg != nil })
	if !logA.has("UNKNOWN_MEMBER_ID") {
		t.Fatalf("A never learnt it lost its session; its log:\n%s", logA)
	}
	t.Logf("A's log:\n%s", logA)
	mine, theirs := asg["a"][0], asg["b"][0]
	t.Logf("A owns partition %d, B owns partition %d", mine, theirs)
	k.widget(t, "a-3", mine)
	waitCond(t, "A to commit its partition", time.Minute, func() bool { return k.committed(group, mine) == 3 })
	if got := k.committed(group, theirs); got != 2 {
		t.Errorf("partition %d, owned by B, committed at %d; B had committed 2: A's commit from before it lost its partitions was retried", theirs, got)
	}
}

// TestFencedMidBatchCommitNotApplied: B joins while A's batch is
// being written (held sink: a long fan-out). The rebalance waits for A
// (BlockRebalanceOnPoll) longer than the rebalance timeout, so the
// coordinator drops A and gives B every partition; A's heartbeats meanwhile
// keep answering REBALANCE_IN_PROGRESS, as they do while the rebalance is
// under way. B replays A's records and commits everything (5 per
// partition). When A's write completes, its commits fail (UNKNOWN_MEMBER_ID)
// and stay in unacked; A's rejoin is refused with UNKNOWN_MEMBER_ID and
// franz-go rejoins as a new member without OnPartitionsLost. In the new
// generation A's partitions are B's: a retry of A's failed commits, or a
// commit of records A polled before its new assignment reached it, would
// go out under A's new member ID and move B's offsets back.
func TestFencedMidBatchCommitNotApplied(t *testing.T) {
	fencedMidBatch(t, nil)
}

// TestFencedMidBatchEager is the same with the eager range balancer:
// the revocation comes before the rejoin, under the old generation, so the
// failed commit is dropped.
func TestFencedMidBatchEager(t *testing.T) {
	fencedMidBatch(t, []kgo.Opt{kgo.Balancers(kgo.RangeBalancer())})
}

func fencedMidBatch(t *testing.T, extra []kgo.Opt) {
	pool, pgURL := testenv.Postgres(t)
	k := fencingKafka(t, 2)
	_, plan := loadPlan(t, widgetsYAML, env("BROKERS", brokers(k.cluster), "PG", pgURL, "REDIS", "redis://unused", "PREFIX", ""))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const group = "fenced"
	const perPartition = 5
	for i := 1; i <= perPartition; i++ {
		k.widget(t, fmt.Sprintf("p0-%d", i), 0)
		k.widget(t, fmt.Sprintf("p1-%d", i), 1)
	}

	// A's heartbeats: the first member seen is A; while busy is set they
	// are answered REBALANCE_IN_PROGRESS.
	var mu sync.Mutex
	var memberA string
	busy := false
	k.fake.ControlKey(int16(kmsg.Heartbeat), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		k.fake.KeepControl()
		req := kreq.(*kmsg.HeartbeatRequest)
		mu.Lock()
		defer mu.Unlock()
		if memberA == "" {
			memberA = req.MemberID
		}
		if !busy || req.MemberID != memberA {
			return nil, nil, false
		}
		resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
		resp.Version = req.Version
		resp.ErrorCode = kerr.RebalanceInProgress.Code
		return resp, nil, true
	})

	held := newHeldSink()
	logA := &capturedLog{}
	a := startConsumer(t, ctx, newEngine(t, pool, plan, held, nil), projector.ConsumerOptions{
		Brokers: k.addrs, Group: group, ClientID: "a", BatchSize: 1, Extra: append(shortSession(), extra...), Logger: slog.New(logA)})
	select {
	case <-held.held:
	case err := <-a.done:
		t.Fatalf("A stopped: %v", err)
	}
	waitCond(t, "A to heartbeat", time.Minute, func() bool { mu.Lock(); defer mu.Unlock(); return memberA != "" })
	mu.Lock()
	busy = true
	mu.Unlock()

	startConsumer(t, ctx, newEngine(t, pool, plan, newViewSink(), nil), projector.ConsumerOptions{
		Brokers: k.addrs, Group: group, ClientID: "b", BatchSize: 100, Extra: append(shortSession(), extra...)})
	var asg map[string][]int32
	waitCond(t, "B alone in the group (A dropped)", time.Minute, func() bool { asg = assignment(k, group, 1); return asg != nil && len(asg["b"]) == 2 })
	waitCond(t, "B to commit both partitions", time.Minute, func() bool {
		return k.committed(group, 0) == perPartition && k.committed(group, 1) == perPartition
	})

	close(held.release)
	waitCond(t, "A and B to share the partitions", time.Minute, func() bool { asg = assignment(k, group, 2); return asg != nil })
	mu.Lock()
	busy = false
	mu.Unlock()
	theirs := asg["b"][0]
	// Every record was projected and committed by B; nothing is left to
	// consume, so the committed offsets must stay at the end.
	if !eventually(10*time.Second, func() bool {
		return k.committed(group, 0) == perPartition && k.committed(group, 1) == perPartition
	}) {
		t.Errorf("committed offsets p0=%d p1=%d after A rejoined; B had committed %d on both and B owns partition %d: A's commits of its old generation were applied under its new one\nA's log:\n%s",
			k.committed(group, 0), k.committed(group, 1), perPartition, theirs, logA)
	}
}

// TestRecreatedTopicConsumed: a topic deleted and created again
// starts its offsets at 0. Once the consumer projected the new topic's
// records, the partition's watermark (every record before Offset is in
// every sink; read-your-writes compares it with the partition's end
// offset) must say where the new topic is, not stay at the old topic's
// offset: a watermark past the end claims records not yet projected.
func TestRecreatedTopicConsumed(t *testing.T) {
	pool, pgURL := testenv.Postgres(t)
	k := fencingKafka(t, 1)
	_, plan := loadPlan(t, widgetsYAML, env("BROKERS", brokers(k.cluster), "PG", pgURL, "REDIS", "redis://unused", "PREFIX", ""))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const group = "recreated"
	for i := 1; i <= 5; i++ {
		k.widget(t, fmt.Sprintf("old-%d", i), 0)
	}
	sink := newViewSink()
	logA := &capturedLog{}
	defer func() {
		if t.Failed() {
			t.Logf("committed %d; consumer log:\n%s", k.committed(group, 0), logA)
		}
	}()
	startConsumer(t, ctx, newEngine(t, pool, plan, sink, nil), projector.ConsumerOptions{
		Brokers: k.addrs, Group: group, ClientID: "a", BatchSize: 100, Logger: slog.New(logA), Extra: []kgo.Opt{kgo.MetadataMinAge(100 * time.Millisecond), kgo.MetadataMaxAge(250 * time.Millisecond)}})
	waitCond(t, "the old topic committed", time.Minute, func() bool { return k.committed(group, 0) == 5 })

	if err := k.fake.DeleteTopic("cqrs.public.widgets"); err != nil {
		t.Fatal(err)
	}
	if err := k.fake.CreateTopic("cqrs.public.widgets", 1, nil); err != nil {
		t.Fatal(err)
	}
	prod, err := kgo.NewClient(kgo.SeedBrokers(k.addrs...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	for _, id := range []string{"new-1", "new-2"} {
		r := widgetRecord(id, sample(t, "postgres/create_schemaless.value.json", func(m map[string]any) {
			m["after"] = map[string]any{"id": id, "name": "widget " + id, "active": true}
		}))
		if err := prod.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	waitCond(t, "the new topic's records projected", 20*time.Second, func() bool {
		sink.mu.Lock()
		defer sink.mu.Unlock()
		_, a := sink.docs["widget_view/new-1"]
		_, b := sink.docs["widget_view/new-2"]
		return a && b
	})
	waitCond(t, "the new topic committed", time.Minute, func() bool { return k.committed(group, 0) == 2 })
	marks, err := projector.ReadWatermarks(ctx, pool, "", "widgets")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range marks {
		if w.Partition == 0 && w.Offset > 2 {
			t.Errorf("watermark of partition 0 at offset %d after the recreated topic's 2 records were projected (end offset 2): readers are told records 2..%d are in the sinks", w.Offset, w.Offset-1)
		}
	}
}
