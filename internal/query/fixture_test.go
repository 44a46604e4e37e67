package query_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/kafkautil"
	"github.com/projectorhq/projector/internal/query"
	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks/elasticsearch/esfake"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// shopYAML has a view in every store (orders: PostgreSQL, Redis JSON and
// Elasticsearch, with an embedded customer), one with a composite id
// (lines) and an aggregate in a Redis hash and Elasticsearch (stats).
const shopYAML = `
version: 1
kafka: { brokers: "${BROKERS}", group: query-test }
stores:
  postgres: { url: "${PG}" }
  redis: { url: "${REDIS}" }
  elasticsearch: { url: "${ES}" }
sources:
  orders:
    topic: app.public.orders
    key: id
    columns: { id: bigint, user_id: text, status: text, total: "numeric(10,2)", note: text, created_at: timestamptz, paid: boolean }
  users:
    topic: app.public.users
    key: id
    columns: { id: text, name: text, email: text }
  lines:
    topic: app.public.lines
    key: [order_id, line]
    columns: { order_id: bigint, line: integer, sku: text, qty: integer }
views:
  orders:
    from: orders
    fields:
      id: id
      status: status
      total: total
      note: note
      created_at: created_at
      paid: paid
      customer: { one: users, on: { id: user_id }, fields: { id: id, name: name, email: email } }
    sinks:
      postgres: { table: q_orders, indexes: [ { fields: [created_at] }, { fields: [customer.id] } ] }
      redis: { key: "${PREFIX}order:{id}" }
      elasticsearch: { index: orders }
  lines:
    from: lines
    fields: { order_id: order_id, line: line, sku: sku, qty: qty }
    sinks:
      postgres: { table: q_lines }
  stats:
    from: orders
    group_by: status
    fields: { status: status, n: { agg: count }, sum: { agg: sum, of: total } }
    sinks:
      redis: { key: "${PREFIX}stats:{status}", format: hash }
      elasticsearch: { index: stats }
`

var topics = []string{"app.public.orders", "app.public.users", "app.public.lines"}

// shop is the whole stack of a test: Kafka (kfake, 2 partitions a topic),
// the engine consuming it into fresh PostgreSQL, Redis and esfake stores,
// and the query API over them.
type shop struct {
	t      *testing.T
	cfg    *config.Config
	plan   *projections.Plan
	pool   *pgxpool.Pool
	rdb    *goredis.Client
	prefix string
	es     *esfake.Server
	client *kgo.Client
	adm    *kadm.Client
	api    *query.Server
	http   *httptest.Server
	yaml   string // the configuration with its variables filled in

	mu  sync.Mutex // one writer at a time: records reach Kafka in LSN order, as Debezium sends them
	lsn int64

	stopEngine func()
	engineDone chan error
}

type shopOptions struct {
	tokens  string
	brokers string // overrides the cluster's, e.g. an unreachable one
	// yaml and topics replace the shop's configuration and topics (with
	// one partition each): another stack for the same harness.
	yaml   string
	topics []string
}

func newShop(t *testing.T, o shopOptions) *shop {
	t.Helper()
	pool, pgURL := testenv.Postgres(t)
	rdb, prefix := testenv.Redis(t)
	es := esfake.New()
	es.Start()
	t.Cleanup(es.Close)
	yaml, seeded, partitions := shopYAML, topics, int32(2)
	if o.yaml != "" {
		yaml, seeded, partitions = o.yaml, o.topics, 1
	}
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, seeded...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	client, err := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	env := map[string]string{"BROKERS": strings.Join(kc.ListenAddrs(), ","), "PG": pgURL, "REDIS": testenv.RedisURL(t), "ES": es.URL(), "PREFIX": prefix}
	cfg, err := config.Parse("shop.yaml", []byte(yaml), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatalf("config:\n%v", err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatalf("plan:\n%v", err)
	}
	filled := yaml
	for k, v := range env {
		filled = strings.ReplaceAll(filled, "${"+k+"}", v)
	}
	s := &shop{t: t, cfg: cfg, plan: plan, yaml: filled, pool: pool, rdb: rdb, prefix: prefix, es: es, client: client, adm: kadm.NewClient(client), lsn: 1 << 24}
	s.startEngine()
	qcfg := *cfg
	if o.brokers != "" {
		qcfg.Kafka.Brokers = config.StringList{o.brokers}
	}
	api, err := query.New(context.Background(), &qcfg, plan, query.Options{Tokens: o.tokens, KafkaTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(api.Close)
	s.api = api
	s.http = httptest.NewServer(api.Handler())
	t.Cleanup(s.http.Close)
	return s
}

// startEngine runs `projector run` on the stack in this process.
func (s *shop) startEngine() {
	t := s.t
	ctx, cancel := context.WithCancel(context.Background())
	st, err := stack.Wire(ctx, s.cfg, s.plan, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	cons, err := projector.NewConsumer(st.Engine, projector.ConsumerOptions{
		Brokers: s.cfg.Kafka.Brokers, Group: s.cfg.Kafka.Group, ClientID: "test", BatchSize: 200,
		DeadLetterTopic: s.cfg.Kafka.DeadLetterTopic, Extra: []kgo.Opt{kgo.AllowAutoTopicCreation()},
	})
	if err != nil {
		cancel()
		st.Close()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	drain := make(chan struct{})
	go func() { done <- cons.Run(ctx, drain) }()
	stopped := false
	s.engineDone = done
	// stopEngine drains: the group is left at once, so a restarted engine
	// gets the partitions without waiting for a session timeout.
	s.stopEngine = func() {
		if stopped {
			return
		}
		stopped = true
		close(drain)
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("engine: %v", err)
		}
		cancel()
		st.Close()
	}
	t.Cleanup(s.stopEngine)
}

// row is a source row; nil values are SQL NULLs.
type row map[string]any

// write publishes a change of a PostgreSQL row as Debezium does
// (schemaless JSON, op c/u/d) with the next LSN, and returns the LSN.
func (s *shop) write(topic string, key row, op string, after row) int64 {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lsn += 8
	table := topic[strings.LastIndexByte(topic, '.')+1:]
	var before any
	var afterV any = after
	if op == "d" {
		before, afterV = key, nil
	}
	value, _ := json.Marshal(map[string]any{
		"before": before, "after": afterV, "op": op, "ts_ms": 1,
		"source": map[string]any{"version": "2.7.3.Final", "connector": "postgresql", "name": "app", "ts_ms": 1,
			"snapshot": "false", "db": "app", "schema": "public", "table": table, "txId": s.lsn, "lsn": s.lsn, "xmin": nil},
	})
	k, _ := json.Marshal(key)
	if err := s.client.ProduceSync(context.Background(), &kgo.Record{Topic: topic, Key: k, Value: value}).FirstErr(); err != nil {
		s.t.Fatal(err)
	}
	return s.lsn
}

func (s *shop) order(id int64, r row) int64 {
	r["id"] = id
	return s.write("app.public.orders", row{"id": id}, "u", r)
}

func (s *shop) deleteOrder(id int64) int64 {
	return s.write("app.public.orders", row{"id": id}, "d", nil)
}

func (s *shop) user(id, name, email string) int64 {
	return s.write("app.public.users", row{"id": id}, "c", row{"id": id, "name": name, "email": email})
}

func (s *shop) line(orderID int64, line int, sku string, qty int) int64 {
	return s.write("app.public.lines", row{"order_id": orderID, "line": line}, "c", row{"order_id": orderID, "line": line, "sku": sku, "qty": qty})
}

// caughtUp waits until the engine committed everything produced so far:
// every sink acknowledged it.
func (s *shop) caughtUp() {
	s.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res := make(chan error, 1)
	go func() { res <- kafkautil.WaitCaughtUp(ctx, s.adm, s.cfg.Kafka.Group, 60*time.Second, topics...) }()
	select {
	case err := <-res:
		if err != nil {
			s.t.Fatal(err)
		}
	case err := <-s.engineDone:
		s.t.Fatalf("engine stopped: %v", err)
	}
}

// lsnText prints an LSN as PostgreSQL does.
func lsnText(lsn int64) string { return fmt.Sprintf("%X/%X", lsn>>32, lsn&0xFFFFFFFF) }

// call does a GET on the API and decodes the JSON answer.
func call(t testing.TB, base, path string, header ...string) (int, map[string]any) {
	t.Helper()
	status, body := callRaw(t, base, path, header...)
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("GET %s: %d: not a JSON object: %q", path, status, body)
	}
	return status, m
}

func callRaw(t testing.TB, base, path string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET %s: Content-Type %q", path, ct)
	}
	return res.StatusCode, string(b)
}

func (s *shop) get(path string, header ...string) (int, map[string]any) {
	s.t.Helper()
	return call(s.t, s.http.URL, path, header...)
}

func mustStatus(t testing.TB, path string, got, want int, body map[string]any) {
	t.Helper()
	if got != want {
		t.Fatalf("GET %s: status %d, want %d: %v", path, got, want, body)
	}
}

func docs(body map[string]any) []map[string]any {
	list, _ := body["docs"].([]any)
	out := make([]map[string]any, len(list))
	for i, d := range list {
		out[i], _ = d.(map[string]any)
	}
	return out
}
