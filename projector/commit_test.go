package projector_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// ownKafka is a kfake cluster of the test's own (so that requests can be
// intercepted), with a producer that writes to the partition a record names.
type ownKafka struct {
	*cluster
	fake *kfake.Cluster
	prod *kgo.Client
}

func newOwnKafka(t *testing.T, partitions int32, opts ...kfake.Opt) *ownKafka {
	t.Helper()
	fake, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(partitions, "cqrs.public.widgets")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(fake.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	prod, err := kgo.NewClient(kgo.SeedBrokers(fake.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(prod.Close)
	return &ownKafka{
		cluster: &cluster{addrs: fake.ListenAddrs(), client: cl, adm: kadm.NewClient(cl), topics: []string{"cqrs.public.widgets"}},
		fake:    fake, prod: prod,
	}
}

// widget appends a widget's create to a partition.
func (k *ownKafka) widget(t *testing.T, id string, partition int32) {
	t.Helper()
	r := widgetRecord(id, sample(t, "postgres/create_schemaless.value.json", func(m map[string]any) {
		m["after"] = map[string]any{"id": id, "name": "widget " + id, "active": true}
	}))
	r.Partition = partition
	if err := k.prod.ProduceSync(context.Background(), r).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// committed is the group's committed offset of a partition (-1: none).
func (k *ownKafka) committed(group string, p int32) int64 {
	offs, err := k.adm.FetchOffsets(context.Background(), group)
	if err != nil {
		return -1
	}
	o, ok := offs.Lookup("cqrs.public.widgets", p)
	if !ok || o.Err != nil {
		return -1
	}
	return o.At
}

// failCommits makes the coordinator refuse, with REBALANCE_IN_PROGRESS, the
// offset commits of the first member that commits, while failing is set.
// refused receives one value per refused commit.
type failCommits struct {
	mu      sync.Mutex
	member  string
	failing bool
	refused chan struct{}
}

func (k *ownKafka) failFirstMembersCommits() *failCommits {
	f := &failCommits{failing: true, refused: make(chan struct{}, 100)}
	k.fake.ControlKey(int16(kmsg.OffsetCommit), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		k.fake.KeepControl()
		req := kreq.(*kmsg.OffsetCommitRequest)
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.member == "" {
			f.member = req.MemberID
		}
		if !f.failing || req.MemberID != f.member {
			return nil, nil, false
		}
		select {
		case f.refused <- struct{}{}:
		default:
		}
		return refusedCommit(req), nil, true
	})
	return f
}

// refusedCommit answers an offset commit with REBALANCE_IN_PROGRESS for
// every partition, as a coordinator does while the group rebalances.
func refusedCommit(req *kmsg.OffsetCommitRequest) *kmsg.OffsetCommitResponse {
	resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
	resp.Version = req.Version
	for _, rt := range req.Topics {
		st := kmsg.NewOffsetCommitResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		for _, rp := range rt.Partitions {
			sp := kmsg.NewOffsetCommitResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.ErrorCode = kerr.RebalanceInProgress.Code
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

func (f *failCommits) stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failing = false
}

// consumerMember is one consumer on its own engine (sharing the state).
type consumerMember struct {
	cons *projector.Consumer
	stop chan struct{}
	done chan error
}

func startConsumer(t *testing.T, ctx context.Context, eng *projector.Engine, opts projector.ConsumerOptions) *consumerMember {
	t.Helper()
	c, err := projector.NewConsumer(eng, opts)
	if err != nil {
		t.Fatal(err)
	}
	m := &consumerMember{cons: c, stop: make(chan struct{}), done: make(chan error, 1)}
	go func() { m.done <- c.Run(ctx, m.stop) }()
	t.Cleanup(func() {
		select {
		case <-m.stop:
		default:
			close(m.stop)
		}
		if err := <-m.done; err != nil && ctx.Err() == nil {
			t.Errorf("member %s: %v", opts.ClientID, err)
		}
	})
	return m
}

// member runs a consumer of the widgets in group with its own engine.
func (k *ownKafka) member(t *testing.T, ctx context.Context, eng *projector.Engine, group, name string, batch int) *consumerMember {
	t.Helper()
	return startConsumer(t, ctx, eng, projector.ConsumerOptions{Brokers: k.addrs, Group: group, ClientID: name, BatchSize: batch})
}

// heldEngine is an engine on a fresh state writing the widgets to a sink
// that holds its first write.
func heldEngine(t *testing.T, addrs []string) (*pgxpool.Pool, *projector.Engine, *heldSink) {
	t.Helper()
	pool, pgURL := testenv.Postgres(t)
	_, plan := loadPlan(t, widgetsYAML, env("BROKERS", strings.Join(addrs, ","), "PG", pgURL, "REDIS", "redis://unused", "PREFIX", ""))
	sink := newHeldSink()
	return pool, newEngine(t, pool, plan, sink, nil), sink
}

// waitCond polls cond until it holds, failing the test at the deadline.
func waitCond(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", timeout, what)
		}
		<-tick.C
	}
}

// eventually reports whether cond holds within timeout, checking it every
// 20ms.
func eventually(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
	}
	return true
}

// assignment is each member's (by client id) partitions, once the group is
// stable with every one of want members holding some.
func assignment(k *ownKafka, group string, want int) map[string][]int32 {
	groups, err := k.adm.DescribeGroups(context.Background(), group)
	if err != nil {
		return nil
	}
	g := groups[group]
	if g.Err != nil || g.State != "Stable" || len(g.Members) != want {
		return nil
	}
	out := map[string][]int32{}
	for _, m := range g.Members {
		c, ok := m.Assigned.AsConsumer()
		if !ok || len(c.Topics) == 0 {
			return nil
		}
		for _, tp := range c.Topics {
			out[m.ClientID] = append(out[m.ClientID], tp.Partitions...)
		}
	}
	return out
}

// TestFailedCommitNotCarriedPastRevocation: offsets whose commit failed,
// and failed again when their partition was revoked, are dropped with the
// partition: committed later they would move back the offset of the member
// that owns it now.
func TestFailedCommitNotCarriedPastRevocation(t *testing.T) {
	pool, pgURL := testenv.Postgres(t)
	k := newOwnKafka(t, 2)
	_, plan := loadPlan(t, widgetsYAML, env("BROKERS", brokers(k.cluster), "PG", pgURL, "REDIS", "redis://unused", "PREFIX", ""))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const group = "unacked"

	// A projects one record of each partition; its commit is refused.
	k.widget(t, "p0-1", 0)
	k.widget(t, "p1-1", 1)
	fail := k.failFirstMembersCommits()
	k.member(t, ctx, newEngine(t, pool, plan, newViewSink(), nil), group, "a", 100)
	select {
	case <-fail.refused:
	case <-ctx.Done():
		t.Fatal("A never committed")
	}

	// B joins; A's commits (the retry on revocation included) keep failing.
	k.member(t, ctx, newEngine(t, pool, plan, newViewSink(), nil), group, "b", 100)
	var asg map[string][]int32
	waitCond(t, "A and B to share the partitions", time.Minute, func() bool { asg = assignment(k, group, 2); return asg != nil })
	mine, theirs := asg["a"][0], asg["b"][0]
	t.Logf("A owns partition %d, B owns partition %d", mine, theirs)

	// B projects its partition from the start, then one more record.
	waitCond(t, "B to commit its partition", time.Minute, func() bool { return k.committed(group, theirs) == 1 })
	k.widget(t, "b-2", theirs)
	waitCond(t, "B to commit its second record", time.Minute, func() bool { return k.committed(group, theirs) == 2 })

	// The coordinator is back; A projects a record of its own partition.
	fail.stop()
	k.widget(t, "a-2", mine)
	waitCond(t, "A to commit its partition", time.Minute, func() bool { return k.committed(group, mine) == 2 })
	if got := k.committed(group, theirs); got != 2 {
		t.Errorf("partition %d, owned by B, committed at %d after A's commit; B had committed 2 (A committed for a partition it no longer owns)", theirs, got)
	}
}

// TestFailedCommitRetriedWhileIdle: a written batch whose offset commit
// failed is committed once the coordinator is back, also when no record
// follows it.
func TestFailedCommitRetriedWhileIdle(t *testing.T) {
	pool, pgURL := testenv.Postgres(t)
	k := newOwnKafka(t, 1)
	_, plan := loadPlan(t, widgetsYAML, env("BROKERS", brokers(k.cluster), "PG", pgURL, "REDIS", "redis://unused", "PREFIX", ""))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	k.widget(t, "w1", 0)
	k.widget(t, "w2", 0)
	fail := k.failFirstMembersCommits()
	k.member(t, ctx, newEngine(t, pool, plan, newViewSink(), nil), "idle", "a", 100)
	select {
	case <-fail.refused:
	case <-ctx.Done():
		t.Fatal("the member never committed")
	}
	fail.stop()
	if !eventually(15*time.Second, func() bool { return k.committed("idle", 0) == 2 }) {
		t.Fatalf("offset %d still committed 15s after the coordinator came back; want 2 (the batch was written)", k.committed("idle", 0))
	}
}

// TestWrittenBatchCommittedWhileNextWaits: a batch's offsets are committed
// once its docs are written, while the next batch's Prepare still waits
// (here for the state lock another instance holds).
func TestWrittenBatchCommittedWhileNextWaits(t *testing.T) {
	k := newOwnKafka(t, 1)
	pool, eng, sink := heldEngine(t, k.addrs)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for i := 1; i <= 3; i++ {
		k.widget(t, fmt.Sprintf("w%d", i), 0)
	}
	m := k.member(t, ctx, eng, "prepare", "a", 3)
	select {
	case <-sink.held: // the first batch is in the state, its write held
	case err := <-m.done:
		t.Fatalf("consumer stopped: %v", err)
	}

	// Another instance holds the state lock: the second batch, produced
	// now, waits for it in Prepare.
	lock, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	if _, err := lock.Exec(ctx, `SELECT pg_advisory_lock(hashtextextended('projector.state:projector', 0))`); err != nil {
		t.Fatal(err)
	}
	unlocked := false
	unlock := func() {
		if !unlocked {
			unlocked = true
			if _, err := lock.Exec(ctx, `SELECT pg_advisory_unlock(hashtextextended('projector.state:projector', 0))`); err != nil {
				t.Error(err)
			}
		}
	}
	defer unlock()
	for i := 4; i <= 6; i++ {
		k.widget(t, fmt.Sprintf("w%d", i), 0)
	}
	waitCond(t, "the second batch to wait for the state lock", time.Minute, func() bool {
		var waiting bool
		err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))`).Scan(&waiting)
		return err == nil && waiting
	})

	// The first batch's write is acknowledged: its offsets may be committed.
	close(sink.release)
	if !eventually(15*time.Second, func() bool { return k.committed("prepare", 0) >= 3 }) {
		t.Errorf("the first batch was written 15s ago and is still not committed (offset %d): its commit waits for the next batch's Prepare", k.committed("prepare", 0))
	}
	unlock()
	k.waitCaughtUp(t, "prepare", m.done)
}

// TestReadinessKeepsAFailingPrepare: the batch being written and the one
// being prepared retry apart; the first one's write completing does not
// clear the state problem the second one's failing Prepare reports, so
// /readyz does not say ready while no batch can be applied.
func TestReadinessKeepsAFailingPrepare(t *testing.T) {
	k := newOwnKafka(t, 1)
	pool, eng, sink := heldEngine(t, k.addrs)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// The state refuses w5 (of the second batch) until the trigger is dropped.
	if _, err := pool.Exec(ctx, `CREATE FUNCTION projector.reject() RETURNS trigger LANGUAGE plpgsql AS
		$$ BEGIN IF NEW.data->>'id' = 'w5' THEN RAISE EXCEPTION 'w5 rejected'; END IF; RETURN NEW; END $$;
		CREATE TRIGGER reject BEFORE INSERT OR UPDATE ON projector.state_widgets FOR EACH ROW EXECUTE FUNCTION projector.reject()`); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 6; i++ {
		k.widget(t, fmt.Sprintf("w%d", i), 0)
	}
	var retries atomic.Int64
	m := startConsumer(t, ctx, eng, projector.ConsumerOptions{Brokers: k.addrs, Group: "health", BatchSize: 3,
		Logger: slog.New(retryCounter{n: &retries})})
	select {
	case <-sink.held:
	case err := <-m.done:
		t.Fatalf("consumer stopped: %v", err)
	}
	// The second batch fails; let its retries back off to 800ms and more.
	waitCond(t, "the second batch to fail four times", time.Minute, func() bool { return retries.Load() >= 4 })
	if p := eng.Problems(); p["state"] == "" {
		t.Fatalf("problems %v while the second batch fails: want state", p)
	}

	// The first batch's write completes; the second batch still fails.
	close(sink.release)
	failures := retries.Load()
	cleared := false
	tick := time.NewTicker(time.Millisecond)
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline) && !cleared; {
		<-tick.C
		if _, ok := eng.Problems()["state"]; !ok {
			cleared = true
		}
	}
	tick.Stop()
	if cleared {
		t.Errorf("the state problem was cleared while the second batch kept failing (%d failures, %d before the first batch's write completed)", retries.Load(), failures)
	}
	if _, err := pool.Exec(ctx, `DROP TRIGGER reject ON projector.state_widgets`); err != nil {
		t.Fatal(err)
	}
	k.waitCaughtUp(t, "health", m.done)
}
