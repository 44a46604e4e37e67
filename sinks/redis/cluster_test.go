package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks"
)

// masterOf maps each key to the address of the master holding it, asking
// every master (EXISTS), not the client's routing.
func masterOf(t *testing.T, c *redis.ClusterClient, keys ...string) map[string]string {
	t.Helper()
	var mu sync.Mutex
	where := map[string]string{}
	err := c.ForEachMaster(context.Background(), func(ctx context.Context, m *redis.Client) error {
		for _, k := range keys {
			n, err := m.Exists(ctx, k).Result()
			if redis.HasErrorPrefix(err, "MOVED") {
				continue // another master's slot
			}
			if err != nil {
				return err
			}
			if n == 1 {
				mu.Lock()
				where[k] = m.Options().Addr
				mu.Unlock()
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return where
}

// TestClusterWritesEveryMaster: on a Redis Cluster the sink writes and
// deletes docs on all three masters, each doc's rev key beside it, and
// refuses stale revisions there as on a single server.
func TestClusterWritesEveryMaster(t *testing.T) {
	client, prefix := testenv.RedisCluster(t)
	s := newSink(t, client, prefix, View{Name: "items", Key: prefix + "item:{id}"})
	ctx := context.Background()
	if err := s.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
	const n = 60 // spread over the slots of the three masters
	var docs []sinks.Doc
	var keys, revKeys []string
	for id := range n {
		docs = append(docs, doc("items", id, 10, map[string]any{"id": id, "name": fmt.Sprint("v10-", id)}))
		k := fmt.Sprintf("%sitem:%d", prefix, id)
		keys, revKeys = append(keys, k), append(revKeys, s.revKey(k))
	}
	write(t, s, docs...)
	where := masterOf(t, client, append(keys, revKeys...)...)
	masters := map[string]bool{}
	for i, k := range keys {
		if where[k] == "" || where[k] != where[revKeys[i]] {
			t.Fatalf("key %s on %q, its rev key on %q; want both on one master", k, where[k], where[revKeys[i]])
		}
		masters[where[k]] = true
		if got, err := client.Get(ctx, k).Result(); err != nil || !strings.Contains(got, fmt.Sprintf(`"v10-%d"`, i)) {
			t.Fatalf("GET %s = %q, %v", k, got, err)
		}
	}
	if len(masters) != 3 {
		t.Fatalf("keys on %d masters (%v), want 3", len(masters), masters)
	}

	// Older and equal revisions are stale on every master.
	for i := range docs {
		docs[i].Rev = 10 - int64(i%2)
		docs[i].Fields["name"] = "old"
	}
	write(t, s, docs...)
	if s.Stale() != n {
		t.Errorf("stale = %d, want %d", s.Stale(), n)
	}
	for i, k := range keys {
		if got, _ := client.Get(ctx, k).Result(); !strings.Contains(got, fmt.Sprintf(`"v10-%d"`, i)) {
			t.Fatalf("GET %s = %q after stale writes", k, got)
		}
	}

	// Deletes remove every doc and leave its tombstone beside it.
	for i := range docs {
		docs[i] = sinks.Doc{View: "items", ID: fmt.Sprint(i), Key: map[string]any{"id": i}, Rev: 11, Deleted: true}
	}
	write(t, s, docs...)
	if n, err := client.Exists(ctx, keys[0]).Result(); err != nil || n != 0 {
		t.Fatalf("EXISTS %s = %d, %v after delete", keys[0], n, err)
	}
	where = masterOf(t, client, append(keys, revKeys...)...)
	for i, k := range keys {
		if where[k] != "" {
			t.Fatalf("key %s still on %s after its delete", k, where[k])
		}
		if rev, err := client.Get(ctx, revKeys[i]).Result(); err != nil || rev != "11" {
			t.Fatalf("tombstone %s = %q, %v", revKeys[i], rev, err)
		}
	}
}

// TestClusterScriptLost: a master that lost the script (SCRIPT FLUSH, as a
// restart or a promoted replica would) gets it again through EVAL, for
// writes and purges alike.
func TestClusterScriptLost(t *testing.T) {
	client, prefix := testenv.RedisCluster(t)
	s := newSink(t, client, prefix, View{Name: "items", Key: prefix + "item:{id}"})
	ctx := context.Background()
	flush := func() {
		t.Helper()
		err := client.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error { return m.ScriptFlush(ctx).Err() })
		if err != nil {
			t.Fatal(err)
		}
	}
	var docs []sinks.Doc
	var keys, currents, members []string
	for id := range 30 {
		docs = append(docs, doc("items", id, 1, map[string]any{"id": id}))
		keys = append(keys, fmt.Sprintf("%sitem:%d", prefix, id))
		currents = append(currents, fmt.Sprintf("%snew:%d", prefix, id))
		members = append(members, fmt.Sprint(id))
	}
	flush()
	write(t, s, docs...)
	if where := masterOf(t, client, keys...); len(where) != len(keys) {
		t.Fatalf("%d of %d keys written after SCRIPT FLUSH", len(where), len(keys))
	}
	flush()
	if err := s.Purge(ctx, keys, currents, members); err != nil {
		t.Fatalf("Purge after SCRIPT FLUSH: %v", err)
	}
	if where := masterOf(t, client, keys...); len(where) != 0 {
		t.Fatalf("keys left after Purge: %v", where)
	}
}

// TestClusterCheckEveryMaster: the startup check runs on every master of
// a cluster, not on whichever node the client asks: an eviction policy or
// a bulk limit set on one master only is found.
func TestClusterCheckEveryMaster(t *testing.T) {
	servers := testenv.PrivateRedisCluster(t, 3)
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{strings.TrimPrefix(testenv.ClusterURL(servers), "redis://")}})
	t.Cleanup(func() { _ = client.Close() })
	s := newSink(t, client, "", View{Name: "items", Key: "item:{id}"})
	ctx := context.Background()
	if err := s.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
	last := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", servers[2].Port())})
	t.Cleanup(func() { _ = last.Close() })
	if err := last.ConfigSet(ctx, "maxmemory-policy", "allkeys-lru").Err(); err != nil {
		t.Fatal(err)
	}
	err := s.Check(ctx)
	if !errors.Is(err, ErrEvictionPolicy) || !strings.Contains(err.Error(), fmt.Sprint(servers[2].Port())) {
		t.Errorf("Check with allkeys-lru on one master: %v, want ErrEvictionPolicy naming it", err)
	}
	if err := last.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err(); err != nil {
		t.Fatal(err)
	}
	if err := last.ConfigSet(ctx, "proto-max-bulk-len", "1mb").Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if got := s.maxBulk.Load(); got != 1<<20 {
		t.Errorf("maxBulk = %d after one master's proto-max-bulk-len became 1mb, want %d", got, 1<<20)
	}
}

// TestClusterDown: a write to a cluster that lost a master fails as a
// whole (CLUSTERDOWN from the masters left, an outage the engine retries),
// never doc by doc, and goes through once the master is back.
func TestClusterDown(t *testing.T) {
	servers := testenv.PrivateRedisCluster(t, 3)
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{strings.TrimPrefix(testenv.ClusterURL(servers), "redis://")},
		MaxRetries: 1})
	t.Cleanup(func() { _ = client.Close() })
	s := newSink(t, client, "", View{Name: "items", Key: "item:{id}"})
	// Docs of the first master's slots (the first third): it stays up, and
	// answers CLUSTERDOWN once it sees the second master failed.
	var docs []sinks.Doc
	var keys []string
	for id := 0; len(docs) < 20; id++ {
		if k := fmt.Sprintf("item:%d", id); slot(k) < clusterSlots/3 {
			docs = append(docs, doc("items", id, 1, map[string]any{"id": id}))
			keys = append(keys, k)
		}
	}
	ctx := context.Background()
	servers[1].Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for err := s.Write(ctx, docs); err == nil || !strings.Contains(err.Error(), "CLUSTERDOWN"); err = s.Write(ctx, docs) {
		var batch *sinks.BatchError
		if errors.As(err, &batch) {
			t.Fatalf("write with a master down: %v, want the whole batch to fail", err)
		}
		select {
		case <-deadline:
			t.Fatalf("no CLUSTERDOWN 30s after a master stopped: %v", err)
		case <-tick.C:
		}
	}
	if n, err := client.Del(ctx, keys[0]).Result(); err == nil || n != 0 {
		t.Fatalf("DEL on a cluster down: %d, %v", n, err)
	}
	servers[1].Start()
	deadline = time.After(60 * time.Second)
	for err := s.Write(ctx, docs); err != nil; err = s.Write(ctx, docs) {
		var batch *sinks.BatchError
		if errors.As(err, &batch) {
			t.Fatalf("write once the master is back: %v, want no doc refused", err)
		}
		select {
		case <-deadline:
			t.Fatalf("write once the master is back: %v", err)
		case <-tick.C:
		}
	}
	// On the first master, which holds them; the others may not have
	// seen the second one back yet.
	first := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", servers[0].Port())})
	defer first.Close()
	for _, k := range keys {
		if n, err := first.Exists(ctx, k).Result(); err != nil || n != 1 {
			t.Fatalf("EXISTS %s on the first master = %d, %v", k, n, err)
		}
	}
}

// TestClusterIndexes: on a cluster a view's indexes work when the key
// template and every index's share a hash tag (a literal one, or the same
// field), and a view whose index keys may be in another slot is refused
// when the sink is made, naming the view, rather than every doc being
// refused.
func TestClusterIndexes(t *testing.T) {
	client, prefix := testenv.RedisCluster(t)
	_, err := New(client, []View{{Name: "orders", Key: prefix + "order:{id}",
		Indexes: []Index{{Key: prefix + "user:{customer.id}:orders", Score: "total"}}}}, Options{})
	if !errors.Is(err, ErrInvalidView) || !errors.Is(err, ErrClusterIndexes) || !strings.Contains(err.Error(), `"orders"`) {
		t.Errorf("New with an index in other slots: %v, want ErrClusterIndexes naming the view", err)
	}
	ctx := context.Background()
	for _, tt := range []struct{ name, key, index string }{
		{"literal tag", "{{" + prefix + "orders}}:{id}", "{{" + prefix + "orders}}:by_user:{customer}"},
		{"field tag", prefix + "order:{{{customer}}}:{id}", prefix + "user:{{{customer}}}:orders"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(client, []View{{Name: "orders", Key: tt.key, Indexes: []Index{{Key: tt.index, Score: "total"}}}},
				Options{RevKeyPrefix: prefix + "rev:", MembershipKeyPrefix: prefix + "ix:"})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			var docs []sinks.Doc
			for id := range 20 {
				customer := fmt.Sprint("c", id%4)
				docs = append(docs, sinks.Doc{View: "orders", ID: fmt.Sprint(id), Rev: 1,
					Key:    map[string]any{"id": id, "customer": customer},
					Fields: map[string]any{"id": id, "customer": customer, "total": id}})
			}
			write(t, s, docs...)
			masters := map[string]bool{}
			for c := range 4 {
				ixKey, err := mustTemplate(t, tt.index).resolve(map[string]any{"customer": fmt.Sprint("c", c)})
				if err != nil {
					t.Fatal(err)
				}
				members, err := client.ZRange(ctx, ixKey, 0, -1).Result()
				if err != nil || len(members) != 5 {
					t.Errorf("ZRANGE %s = %v, %v; want 5 members", ixKey, members, err)
				}
				masters[masterOf(t, client, ixKey)[ixKey]] = true
			}
			if tt.name == "field tag" && len(masters) < 2 {
				t.Errorf("index keys of four customers on %d master(s), want them spread", len(masters))
			}
		})
	}
}

func mustTemplate(t *testing.T, s string) template {
	t.Helper()
	tpl, err := parseTemplate(s)
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

// TestClusterErrors: a cluster down or moving slots, or a server refusing
// writes, is an outage (retried whole); CROSSSLOT is the command's keys, which no retry changes, so its
// docs are refused rather than retried forever.
func TestClusterErrors(t *testing.T) {
	for _, tt := range []struct {
		reply               string
		unavailable, perDoc bool
	}{
		{"CLUSTERDOWN The cluster is down", true, false},
		{"CLUSTERDOWN Hash slot not served", true, false},
		{"TRYAGAIN Multiple keys request during rehashing of slot", true, false},
		{"MOVED 3999 127.0.0.1:6381", true, false},
		{"ASK 3999 127.0.0.1:6381", true, false},
		{"CROSSSLOT Keys in request don't hash to the same slot", false, true},
		// A server refusing writes for now (min-replicas-to-write, a failed
		// RDB save): an outage, as OOM, not the documents' fault.
		{"NOREPLICAS Not enough good replicas to write.", true, false},
		{"MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk.", true, false},
	} {
		err := fmt.Errorf("wrapped: %w", scriptError(tt.reply))
		if Unavailable(err) != tt.unavailable || docError(err) != tt.perDoc {
			t.Errorf("%s: Unavailable %v, docError %v; want %v, %v", tt.reply, Unavailable(err), docError(err), tt.unavailable, tt.perDoc)
		}
	}
}
