package projector_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/projectorhq/projector/internal/kafkautil"
	"github.com/projectorhq/projector/internal/shop"
	"github.com/projectorhq/projector/internal/testenv"
)

var seedFlag = flag.Uint64("seed", 0, "seed of TestConvergence's workload (default: $PROJECTOR_SEED, else the time)")

// convergenceSeed is -seed, else $PROJECTOR_SEED, else the time: every run
// tries a new workload, and a failing one is replayed by its seed.
func convergenceSeed(t *testing.T) uint64 {
	if *seedFlag != 0 {
		return *seedFlag
	}
	if s := os.Getenv("PROJECTOR_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("PROJECTOR_SEED=%q: %v", s, err)
		}
		return v
	}
	return uint64(time.Now().UnixNano())
}

// TestConvergence is the oracle test (DESIGN.md, "Testing"): a random
// workload over the example shop, delivered with duplicates, reordered
// across topics, to two members of one group of which each is killed once
// mid-stream and replaced; once the group has committed everything, every
// row and key of both views in PostgreSQL and Redis must equal a plain join
// over the final source rows.
//
// The seed fixes the workload, its delivery order, where the deliveries
// are cut, the members' batch sizes and when they are killed (after how many
// committed records). It cannot fix the timing: how the members split the
// partitions and batch what they fetch, and the exact instant of each kill.
// A failure caused by a race may take a few runs with its seed to show again.
func TestConvergence(t *testing.T) {
	seed := convergenceSeed(t)
	t.Logf("seed %d (replay: go test -race -run 'TestConvergence$' ./projector/ -seed %d)", seed, seed)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("FAILED with seed %d: go test -race -run 'TestConvergence$' ./projector/ -seed %d", seed, seed)
		}
	})
	changes := 50_000
	if testing.Short() {
		changes = 5_000
	}
	start := time.Now()
	rnd := rand.New(rand.NewPCG(seed, seed>>1^0x5851f42d4c957f2d))

	gen := shop.New(seed)
	msgs := gen.Snapshot(200, 80, 1000, 4)
	snapshot := len(msgs)
	made := 0 // row changes; the tombstones after deletes come on top
	for made < changes {
		for _, m := range gen.Changes(1000) {
			msgs = append(msgs, m)
			if m.Value != nil {
				made++
			}
		}
	}
	d := deliver(rnd, msgs)
	t.Logf("workload: %d snapshot records, %d row changes (%d records with tombstones), %d duplicates, %d records in all",
		snapshot, made, len(msgs)-snapshot, d.Duplicates, len(d.Records))
	logTally(t, gen.Tally)

	pool, pgURL := testenv.Postgres(t)
	rdb, prefix := testenv.Redis(t)
	cleanRevKeys(t, pool, rdb, prefix)
	kc := newCluster(t, 4, shopTopics...)
	const group = "convergence"
	cfg, plan := loadPlan(t, shopConfig(t, kc, pgURL, prefix, group), nil)
	batch := func() int { return 50 + rnd.IntN(950) }
	// The documents a batch computes at once (the daemon's batch_size;
	// the members' batches are sized apart, above): fewer than most batches
	// affect, so that the rest are computed and written in chunks after
	// them, and some are pending when a member is killed.
	cfg.Kafka.BatchSize = 20 + rnd.IntN(200)

	// Three deliveries: the first to two members, the second while one of
	// them was killed, the third while the other was.
	cut1 := len(d.Records) * (30 + rnd.IntN(15)) / 100
	cut2 := len(d.Records) * (60 + rnd.IntN(15)) / 100
	p := &progress{t: t, kc: kc, pool: pool, group: group}

	generated := time.Now()

	kc.produce(t, records(d.Records[:cut1])...)
	a := startMember(t, cfg, plan, batch())
	b := startMember(t, cfg, plan, batch())
	p.waitSplit(a, b)
	p.killMidStream(a, int64(cut1)*int64(20+rnd.IntN(60))/100, b)

	kc.produce(t, records(d.Records[cut1:cut2])...)
	a2 := startMember(t, cfg, plan, batch()) // joins while b works: a rebalance
	p.killMidStream(b, int64(cut1)+int64(cut2-cut1)*int64(10+rnd.IntN(70))/100, a2)

	kc.produce(t, records(d.Records[cut2:])...)
	b2 := startMember(t, cfg, plan, batch())
	p.waitCaughtUp(3*time.Minute+time.Duration(changes)*3*time.Millisecond, a2, b2)
	members := []*member{a, b, a2, b2}
	t.Logf("generated in %s, projected in %s; kills left %d pending docs to recover; state skipped %.0f stale changes (duplicates)",
		generated.Sub(start).Round(time.Millisecond), time.Since(generated).Round(time.Millisecond), p.pendingAtKill,
		counterSum(t, members, "projector_changes_stale_total"))

	checkShop(t, gen, pool, rdb, prefix)
	a2.drain(t)
	b2.drain(t)
}

// counterSum adds up a counter over the members' registries.
func counterSum(t *testing.T, members []*member, name string) float64 {
	var sum float64
	for _, m := range members {
		mfs, err := m.stack.Registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
			for _, c := range mf.GetMetric() {
				sum += c.GetCounter().GetValue()
			}
		}
	}
	return sum
}

func logTally(t *testing.T, tally map[string]int) {
	kinds := make([]string, 0, len(tally))
	for k := range tally {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var b strings.Builder
	for _, k := range kinds {
		fmt.Fprintf(&b, "\n  %6d %s", tally[k], k)
	}
	t.Logf("changes by kind:%s", b.String())
}

// progress watches the group's committed offsets.
type progress struct {
	t             *testing.T
	kc            *cluster
	pool          *pgxpool.Pool
	group         string
	pendingAtKill int
}

// committed is how many records the group has committed, over all partitions.
func (p *progress) committed(ctx context.Context) (int64, error) {
	offs, err := p.kc.adm.FetchOffsetsForTopics(ctx, p.group, p.kc.topics...)
	if err != nil {
		return 0, err
	}
	var n int64
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Err == nil && o.At > 0 {
			n += o.At
		}
	})
	return n, nil
}

// waitSplit waits until the group has two members, each consuming some of
// the partitions, so that the two instances really run side by side.
func (p *progress) waitSplit(members ...*member) {
	p.t.Helper()
	ctx := context.Background()
	p.waitFor("two members sharing the partitions", time.Minute, func() bool {
		groups, err := p.kc.adm.DescribeGroups(ctx, p.group)
		if err != nil {
			return false
		}
		g := groups[p.group]
		if g.Err != nil || g.State != "Stable" || len(g.Members) != 2 {
			return false
		}
		for _, m := range g.Members {
			c, ok := m.Assigned.AsConsumer()
			if !ok || len(c.Topics) == 0 {
				return false
			}
		}
		return true
	}, members...)
}

// killMidStream waits until the group has committed at least `after`
// records, then for a moment when documents are pending (state written,
// sinks not yet acknowledged: the window a crash must not lose), and kills
// m there: no drain, no commit. others must keep running.
func (p *progress) killMidStream(m *member, after int64, others ...*member) {
	p.t.Helper()
	ctx := context.Background()
	p.waitFor(fmt.Sprintf("%d committed records", after), 2*time.Minute, func() bool {
		n, err := p.committed(ctx)
		return err == nil && n >= after
	}, append(others, m)...)
	// The window is short; if it does not show within a few seconds (the
	// stream may be consumed already), the kill still happens.
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		var pending bool
		if err := p.pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM projector.pending)`).Scan(&pending); err == nil && pending {
			break
		}
		<-tick.C
	}
	m.kill(p.t)
	var n int
	if err := p.pool.QueryRow(ctx, `SELECT count(*) FROM projector.pending`).Scan(&n); err != nil {
		p.t.Fatal(err)
	}
	p.pendingAtKill += n
}

// waitCaughtUp waits until the group has committed every record, which
// happens only after every sink acknowledged every doc they affect.
func (p *progress) waitCaughtUp(timeout time.Duration, members ...*member) {
	p.t.Helper()
	ctx := context.Background()
	p.waitFor("the group to commit every record", timeout, func() bool {
		ok, err := kafkautil.CaughtUp(ctx, p.kc.adm, p.group, p.kc.topics...)
		return err == nil && ok
	}, members...)
}

// waitFor polls cond until it holds, failing at the deadline or when a
// member stops by itself.
func (p *progress) waitFor(what string, timeout time.Duration, cond func() bool, members ...*member) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			p.t.Fatalf("waited %s for %s", timeout, what)
		}
		for _, m := range members {
			select {
			case err := <-m.done:
				m.done <- err // for the member's cleanup, which waits for it
				p.t.Fatalf("a member stopped while waiting for %s: %v", what, err)
			default:
			}
		}
		<-tick.C
	}
}

// cleanRevKeys deletes, when the test ends, the Redis keys of the test's
// docs together with their rev keys, which the sink keeps outside the test's
// prefix ("projector:rev:{<key>}", see sinks/redis) where testenv.Redis does
// not look. The docs are found in projector.revs, so call it after
// testenv.Postgres: cleanups run last first, before the database is dropped.
func cleanRevKeys(t *testing.T, pool *pgxpool.Pool, rdb *goredis.Client, prefix string) {
	t.Cleanup(func() {
		ctx := context.Background()
		var keys []string
		for view, key := range map[string]func(string) string{
			"order_view":       func(id string) string { return prefix + "order:" + id },
			"user_order_stats": func(id string) string { return prefix + "user:" + id + ":stats" },
		} {
			rows, err := pool.Query(ctx, `SELECT doc_id FROM projector.revs WHERE view = $1`, view)
			if err != nil {
				t.Logf("rev keys left in Redis: %v", err)
				return
			}
			ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Logf("rev keys left in Redis: %v", err)
				return
			}
			for _, id := range ids {
				keys = append(keys, key(id), "projector:rev:{"+key(id)+"}")
			}
		}
		for len(keys) > 0 {
			n := min(len(keys), 1000)
			if err := rdb.Del(ctx, keys[:n]...).Err(); err != nil {
				t.Logf("rev keys left in Redis: %v", err)
				return
			}
			keys = keys[n:]
		}
	})
}
