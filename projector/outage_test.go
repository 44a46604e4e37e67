package projector_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/admin"
	"github.com/projectorhq/projector/internal/kafkautil"
	"github.com/projectorhq/projector/internal/shop"
	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks/elasticsearch/esfake"
)

// The outage tests stop a store while the shop's changes stream in and
// check what an operator and a reader see: consumption pauses (the group's
// committed offsets stay where they were), /readyz names the failing part
// while it is down and is clear after, and once the store is back the views
// equal the oracle, with nothing lost and nothing twice.

// TestRedisOutage stops a private Redis mid-stream and starts it again on
// the same data. order_view also has a secondary index, which must come
// out of the outage as right as the documents.
func TestRedisOutage(t *testing.T) {
	pool, pgURL := testenv.Postgres(t)
	rs := testenv.PrivateRedis(t)
	kc := newCluster(t, 3, shopTopics...)
	y := shopConfig(t, kc, pgURL, "", "shop")
	t.Setenv("PROJECTOR_REDIS_URL", rs.URL())
	y = replaceOnce(t, y, `redis: { key: "order:{id}" }`,
		`redis: { key: "order:{id}", indexes: [{ key: "user:{customer.id}:orders", score: created_at }] }`)
	cfg, plan := loadPlan(t, y, nil)
	rdb := goredis.NewClient(must(goredis.ParseURL(rs.URL())))
	t.Cleanup(func() { _ = rdb.Close() })

	o := startOutage(t, kc, cfg, plan, 11)
	rs.Stop()
	o.whileDown(t, 2, "redis")
	rs.Start()
	o.recovered(t)

	checkShop(t, o.gen, pool, rdb, "")
	checkOrderIndex(t, o.gen, rdb)
	o.m.drain(t)
}

// TestPostgresRestart restarts the query PostgreSQL — state, revisions,
// pending documents and the views — mid-stream: every connection of the
// pool breaks, and transactions in flight are cut.
func TestPostgresRestart(t *testing.T) {
	ps := testenv.PrivatePostgres(t)
	rdb, prefix := testenv.Redis(t)
	kc := newCluster(t, 3, shopTopics...)
	cfg, plan := loadPlan(t, shopConfig(t, kc, ps.URL(), prefix, "shop"), nil)

	o := startOutage(t, kc, cfg, plan, 12)
	ps.Stop()
	// The state is read and written before any sink: the engine's batch
	// fails first ("state"), or the postgres sink if the restart strikes
	// between the state and the writes.
	o.whileDown(t, 2, "state", "postgres")
	ps.Start()
	o.recovered(t)

	pool, err := pgxpool.New(t.Context(), ps.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	checkShop(t, o.gen, pool, rdb, prefix)
	o.m.drain(t)
}

// TestElasticsearchOutage takes the Elasticsearch sink's cluster down (no
// answer at all), then has it reject bulk requests with 429 for longer than
// the sink retries on its own.
func TestElasticsearchOutage(t *testing.T) {
	pool, pgURL := testenv.Postgres(t)
	rdb, prefix := testenv.Redis(t)
	es := esfake.New()
	es.Start()
	t.Cleanup(es.Close)
	kc := newCluster(t, 3, shopTopics...)
	y := shopConfig(t, kc, pgURL, prefix, "shop")
	t.Setenv("PROJECTOR_ELASTICSEARCH_URL", es.URL())
	y = replaceOnce(t, y, `elasticsearch: { index: orders }`,
		`elasticsearch: { index: orders, mappings: { status: { type: keyword }, customer.name: { type: text, fields: { raw: { type: keyword } } } } }`)
	cfg, plan := loadPlan(t, y, nil)

	o := startOutage(t, kc, cfg, plan, 13)
	checkMappings(t, es.URL(), "orders", map[string]string{
		"status":                   `{"type":"keyword"}`,
		"customer.properties.name": `{"fields":{"raw":{"type":"keyword"}},"type":"text"}`,
	})
	es.Down(true)
	o.whileDown(t, 2, "elasticsearch")
	es.Down(false)
	o.recovered(t)

	// The sink retries a rejected bulk request 5 times itself, backing off
	// for 3s in all; 12 rejections make the engine meet the error twice,
	// and one more attempt after the first is all there is to wait for.
	o.midStream(t)
	es.FailNext(12, http.StatusTooManyRequests, "es_rejected_execution_exception")
	o.whileDown(t, 1, "elasticsearch")
	o.recovered(t)

	checkShop(t, o.gen, pool, rdb, prefix)
	compareOrders(t, "elasticsearch orders", esOrders(t, es.URL(), "orders"), o.gen.Shop.OrderView())
	o.m.drain(t)
}

// outage is one member consuming the shop while a test takes a store away.
type outage struct {
	kc      *cluster
	gen     *shop.Generator
	m       *member
	retries *atomic.Int64 // failed attempts the member logged
	readyz  string
	base    int64 // committed records when the outage began
}

// startOutage streams a snapshot to a member until it caught up, then
// more changes, and returns once the member committed part of them: the
// test then stops its store mid-stream.
func startOutage(t *testing.T, kc *cluster, cfg *config.Config, plan *projections.Plan, seed uint64) *outage {
	t.Helper()
	o := &outage{kc: kc, gen: shop.New(seed), retries: &atomic.Int64{}}
	kc.produce(t, records(o.gen.Snapshot(30, 20, 100, 3))...)
	o.m = startLoggedMember(t, cfg, plan, 50, o.retries)
	o.readyz = serveAdmin(t, o.m)
	kc.waitCaughtUp(t, cfg.Kafka.Group, o.m.done)
	if code, problems := readyz(t, o.readyz); code != http.StatusOK {
		t.Fatalf("/readyz before the outage = %d %v, want 200", code, problems)
	}
	o.midStream(t)
	return o
}

// midStream produces changes and waits until the member committed some of
// them, so that the store goes away with records in flight.
func (o *outage) midStream(t *testing.T) {
	t.Helper()
	start := total(committed(t, o.kc, o.m.stack.Config.Kafka.Group))
	o.kc.produce(t, records(o.gen.Changes(600))...)
	o.waitFor(t, "the member to commit part of the new changes", func() bool {
		return total(committed(t, o.kc, o.m.stack.Config.Kafka.Group)) > start
	})
	// Changes produced from now on are consumed while the store is down.
	o.kc.produce(t, records(o.gen.Changes(600))...)
}

// whileDown checks, with the store down, that /readyz names it (one of
// components) and that the committed offsets stay put while the member
// makes that many more failed attempts, short of the end of the topics.
func (o *outage) whileDown(t *testing.T, attempts int64, components ...string) {
	t.Helper()
	group := o.m.stack.Config.Kafka.Group
	var problems map[string]string
	o.waitFor(t, fmt.Sprintf("/readyz to report %s", strings.Join(components, " or ")), func() bool {
		var code int
		code, problems = readyz(t, o.readyz)
		if code != http.StatusServiceUnavailable {
			return false
		}
		for _, c := range components {
			if problems[c] != "" {
				return true
			}
		}
		return false
	})
	t.Logf("/readyz while down: %v", problems)
	before := committed(t, o.kc, group)
	tries := o.retries.Load()
	o.waitFor(t, "more failed attempts", func() bool { return o.retries.Load() >= tries+attempts })
	after := committed(t, o.kc, group)
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("committed offsets moved while the store was down:\nbefore %v\n after %v", before, after)
	}
	if done, err := kafkautil.CaughtUp(t.Context(), o.kc.adm, group, o.kc.topics...); err != nil || done {
		t.Fatalf("caught up while the store was down (%v): the changes meant for the outage were consumed before it", err)
	}
}

// recovered waits until the member committed everything and checks that
// /readyz is clear again.
func (o *outage) recovered(t *testing.T) {
	t.Helper()
	o.kc.waitCaughtUp(t, o.m.stack.Config.Kafka.Group, o.m.done)
	if code, problems := readyz(t, o.readyz); code != http.StatusOK || len(o.m.stack.Engine.Problems()) != 0 {
		t.Errorf("/readyz after recovery = %d %v, want 200", code, problems)
	}
}

// waitFor polls cond until it holds, failing the test after a minute or
// when the member stops.
func (o *outage) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		select {
		case err := <-o.m.done:
			t.Fatalf("member stopped while waiting for %s: %v", what, err)
		case <-tick.C:
		}
	}
}

// committed is the group's committed offset per partition.
func committed(t *testing.T, kc *cluster, group string) map[string]int64 {
	t.Helper()
	offs, err := kc.adm.FetchOffsetsForTopics(t.Context(), group, kc.topics...)
	if err != nil {
		t.Fatalf("fetch offsets: %v", err)
	}
	out := map[string]int64{}
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Err == nil && o.At >= 0 {
			out[fmt.Sprintf("%s/%d", o.Topic, o.Partition)] = o.At
		}
	})
	return out
}

func total(offsets map[string]int64) int64 {
	var n int64
	for _, o := range offsets {
		n += o
	}
	return n
}

// startLoggedMember is startMember with a logger that counts the failed
// attempts the member retries ("… failed; retrying").
func startLoggedMember(t *testing.T, cfg *config.Config, plan *projections.Plan, batch int, retries *atomic.Int64) *member {
	t.Helper()
	var next slog.Handler
	if os.Getenv("PROJECTOR_TEST_LOG") != "" {
		next = slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})
	}
	log := slog.New(retryCounter{n: retries, next: next})
	ctx, cancel := context.WithCancel(context.Background())
	st, err := stack.Wire(ctx, cfg, plan, log)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	cons, err := projector.NewConsumer(st.Engine, projector.ConsumerOptions{
		Brokers: cfg.Kafka.Brokers, Group: cfg.Kafka.Group, ClientID: "test",
		BatchSize: batch, DeadLetterTopic: cfg.Kafka.DeadLetterTopic,
		Extra:  []kgo.Opt{kgo.AllowAutoTopicCreation()},
		Logger: log,
	})
	if err != nil {
		cancel()
		st.Close()
		t.Fatal(err)
	}
	m := &member{stack: st, cancel: cancel, stop: make(chan struct{}), done: make(chan error, 1)}
	go func() { m.done <- cons.Run(ctx, m.stop) }()
	t.Cleanup(func() { m.kill(t) })
	return m
}

// retryCounter counts warnings about a retried failure and passes every
// record on to next (nil: none).
type retryCounter struct {
	n    *atomic.Int64
	next slog.Handler
}

func (h retryCounter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn || h.next != nil && h.next.Enabled(ctx, l)
}

func (h retryCounter) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn && strings.HasSuffix(r.Message, "failed; retrying") {
		h.n.Add(1)
	}
	if h.next != nil && h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h retryCounter) WithAttrs(as []slog.Attr) slog.Handler {
	if h.next != nil {
		h.next = h.next.WithAttrs(as)
	}
	return h
}

func (h retryCounter) WithGroup(name string) slog.Handler {
	if h.next != nil {
		h.next = h.next.WithGroup(name)
	}
	return h
}

// serveAdmin serves the member's /metrics, /healthz and /readyz as
// `projector run` does and returns the /readyz URL.
func serveAdmin(t *testing.T, m *member) string {
	t.Helper()
	srv, err := admin.Listen("127.0.0.1:0", m.stack.Registry, m.stack.Engine.Problems, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()
	t.Cleanup(func() {
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Errorf("admin shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("admin: %v", err)
		}
	})
	return "http://" + srv.Addr() + "/readyz"
}

func readyz(t *testing.T, url string) (int, map[string]string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET /readyz: %v", err)
	}
	defer res.Body.Close()
	var body struct {
		Problems map[string]string `json:"problems"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatalf("/readyz body: %v", err)
	}
	return res.StatusCode, body.Problems
}

// checkOrderIndex compares the sorted sets user:{customer.id}:orders with
// the oracle: each order with a customer is in its customer's set, scored
// by its creation time, and in no other.
func checkOrderIndex(t *testing.T, gen *shop.Generator, rdb *goredis.Client) {
	t.Helper()
	ctx := t.Context()
	want := map[string]map[string]float64{}
	for id, d := range gen.Shop.OrderView() {
		if d.Customer == nil {
			continue
		}
		k := "user:" + d.Customer.ID + ":orders"
		if want[k] == nil {
			want[k] = map[string]float64{}
		}
		want[k][fmt.Sprint(id)] = float64(d.CreatedAt.UnixMilli())
	}
	keys, err := rdb.Keys(ctx, "user:*:orders").Result()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]float64{}
	for _, k := range keys {
		zs, err := rdb.ZRangeWithScores(ctx, k, 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		got[k] = map[string]float64{}
		for _, z := range zs {
			got[k][z.Member.(string)] = z.Score
		}
	}
	if len(want) == 0 {
		t.Fatal("no order has a customer: the index check proves nothing")
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("user:{customer.id}:orders differ from the oracle:\n got %v\nwant %v", got, want)
	}
}

// esOrders reads every live document behind an Elasticsearch alias.
func esOrders(t *testing.T, base, alias string) map[int64]shop.OrderDoc {
	t.Helper()
	post := func(path, body string) []byte {
		res, err := http.Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("POST %s: %d %s %v", path, res.StatusCode, b, err)
		}
		return b
	}
	post("/"+alias+"/_refresh", "")
	var res struct {
		Hits struct {
			Hits []struct {
				ID     string          `json:"_id"`
				Source json.RawMessage `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	raw := post("/"+alias+"/_search", `{"size": 10000, "query": {"match_all": {}}}`)
	if err := json.NewDecoder(bytes.NewReader(raw)).Decode(&res); err != nil {
		t.Fatal(err)
	}
	out := map[int64]shop.OrderDoc{}
	for _, h := range res.Hits.Hits {
		d, err := parseOrderDoc(h.Source)
		if err != nil {
			t.Fatalf("elasticsearch %s = %s: %v", h.ID, h.Source, err)
		}
		if h.ID != fmt.Sprint(d.ID) {
			t.Errorf("elasticsearch _id %s holds order %d", h.ID, d.ID)
		}
		if _, dup := out[d.ID]; dup {
			t.Errorf("elasticsearch holds order %d twice", d.ID)
		}
		out[d.ID] = d
	}
	return out
}

// checkMappings compares the mappings of the index behind an alias with
// want: dotted path through "properties" → the mapping as JSON.
func checkMappings(t *testing.T, base, alias string, want map[string]string) {
	t.Helper()
	res, err := http.Get(base + "/" + alias)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var indices map[string]struct {
		Mappings map[string]any `json:"mappings"`
	}
	if err := json.NewDecoder(res.Body).Decode(&indices); err != nil || len(indices) != 1 {
		t.Fatalf("GET /%s: %d indices, %v", alias, len(indices), err)
	}
	for _, ix := range indices {
		for path, w := range want {
			var cur any = ix.Mappings["properties"]
			for _, p := range strings.Split(path, ".") {
				m, _ := cur.(map[string]any)
				cur = m[p]
			}
			if got, _ := json.Marshal(cur); string(got) != w {
				t.Errorf("mapping of %s = %s, want %s", path, got, w)
			}
		}
	}
}

func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	if strings.Count(s, old) != 1 {
		t.Fatalf("the configuration has %d occurrences of %q, want 1", strings.Count(s, old), old)
	}
	return strings.Replace(s, old, new, 1)
}
