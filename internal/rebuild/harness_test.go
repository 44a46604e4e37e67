package rebuild

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/projector"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// itemsYAML is a one-to-one view of one source, in PostgreSQL and Redis;
// items whose name starts with "hidden" have no document.
const itemsYAML = `
version: 1
kafka: { brokers: "${BROKERS:-localhost:1}", group: items }
stores:
  postgres: { url: "${PG}" }
  redis: { url: "${REDIS}" }
  elasticsearch: { url: "${ES:-}" }
sources:
  items:
    topic: shop.public.items
    key: id
    columns: { id: bigint, name: text, qty: bigint }
    signal: { notifications: shop.notifications }
views:
  item_view:
    from: items
    where: 'not (name startsWith "hidden")'
    fields: { id: id, name: name, qty: qty }
    sinks:
      postgres: { table: item_view }
      redis: { key: "${PREFIX}item:{id}" }
      elasticsearch: { index: items }
`

// fixture is a test database, Redis key space and configuration.
type fixture struct {
	t      testing.TB
	pool   *pgxpool.Pool
	rdb    *goredis.Client
	prefix string
	cfg    *config.Config
	plan   *projections.Plan
}

func newFixture(t testing.TB) *fixture { return newFixtureWith(t, "", "") }

// newFixtureWith is a fixture whose configuration names Kafka brokers or
// an Elasticsearch cluster.
func newFixtureWith(t testing.TB, brokers, es string) *fixture {
	return newFixtureYAML(t, itemsYAML, brokers, es)
}

// newFixtureYAML is a fixture of another configuration, which may use
// ${BROKERS}, ${ES}, ${PG}, ${REDIS} and ${PREFIX}.
func newFixtureYAML(t testing.TB, yaml, brokers, es string) *fixture {
	t.Helper()
	pool, pgURL := testenv.Postgres(t)
	rdb, prefix := testenv.Redis(t)
	env := map[string]string{"PG": pgURL, "REDIS": testenv.RedisURL(t), "PREFIX": prefix}
	// The sink keeps revisions in keys of its own prefix, which the
	// key space cleanup of testenv does not cover.
	t.Cleanup(func() { unlinkMatching(rdb, "projector:rev:{"+prefix+"*") })
	if brokers != "" {
		env["BROKERS"] = brokers
	}
	if es != "" {
		env["ES"] = es
	}
	cfg, err := config.Parse("test.yaml", []byte(yaml), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatalf("config:\n%v", err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatalf("plan:\n%v", err)
	}
	return &fixture{t: t, pool: pool, rdb: rdb, prefix: prefix, cfg: cfg, plan: plan}
}

// setRedisKeys changes views' Redis key templates (view → template, under
// the fixture's prefix) in the configuration, as an edited file would, and
// compiles it again.
func (f *fixture) setRedisKeys(templates map[string]string) {
	f.t.Helper()
	for i := range f.cfg.Views {
		if t, ok := templates[f.cfg.Views[i].Key]; ok {
			f.cfg.Views[i].Value.Sinks.Redis.Key = f.prefix + t
		}
	}
	plan, err := projections.Compile(f.cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	f.plan = plan
}

// daemon is a running `projector run` without Kafka: the wired stack, the
// watcher, and live changes handed to the engine as Kafka records.
type daemon struct {
	st      *stack.Stack
	watcher *Watcher
	mu      sync.Mutex // one batch at a time, as the consumer does
	offset  int64
	lsn     int64
}

func (f *fixture) startDaemon() *daemon {
	f.t.Helper()
	st, err := stack.Wire(context.Background(), f.cfg, f.plan, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	w, err := Watch(context.Background(), st, WatchOptions{Heartbeat: 200 * time.Millisecond}, nil)
	if err != nil {
		st.Close()
		f.t.Fatal(err)
	}
	d := &daemon{st: st, watcher: w, lsn: 1000}
	f.t.Cleanup(d.stop)
	return d
}

func (d *daemon) stop() {
	if d.watcher != nil {
		d.watcher.Close()
		d.watcher = nil
		d.st.Close()
	}
}

// item is a source row; a nil *item deletes.
type item struct {
	Name string
	Qty  int64
}

// apply sends one batch of changes (id → row, nil deletes) through the
// engine, with increasing source positions.
func (d *daemon) apply(ctx context.Context, changes map[int64]*item) error {
	return d.process(ctx, d.records(changes))
}

// records makes the Kafka records of changes, with increasing positions.
func (d *daemon) records(changes map[int64]*item) []projector.Record {
	d.mu.Lock()
	defer d.mu.Unlock()
	recs := make([]projector.Record, 0, len(changes))
	for id, it := range changes {
		d.lsn += 8
		d.offset++
		recs = append(recs, projector.Record{Topic: "shop.public.items", Offset: d.offset,
			Key: fmt.Appendf(nil, `{"id":%d}`, id), Value: envelope(id, it, d.lsn)})
	}
	return recs
}

// process hands records to the engine as one batch.
func (d *daemon) process(ctx context.Context, recs []projector.Record) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	dead, err := d.st.Engine.Process(ctx, recs)
	if err != nil {
		return err
	}
	if len(dead) > 0 {
		return fmt.Errorf("dead letters: %v", dead[0].Err)
	}
	return nil
}

// envelope is a Debezium PostgreSQL change event without schema.
func envelope(id int64, it *item, lsn int64) []byte {
	ev := map[string]any{
		"source": map[string]any{"version": "2.7.3.Final", "connector": "postgresql", "name": "shop",
			"ts_ms": 1790710562903, "snapshot": "false", "db": "shop", "schema": "public", "table": "items",
			"txId": lsn, "lsn": lsn},
		"transaction": nil, "ts_ms": 1790710563391,
	}
	if it == nil {
		ev["op"], ev["before"], ev["after"] = "d", map[string]any{"id": id, "name": nil, "qty": nil}, nil
	} else {
		ev["op"], ev["before"], ev["after"] = "c", nil, map[string]any{"id": id, "name": it.Name, "qty": it.Qty}
	}
	b, _ := json.Marshal(ev)
	return b
}

// seed creates items 1..n named "item-<id>" through the daemon, in batches.
func (f *fixture) seed(d *daemon, from, n int64) map[int64]*item {
	f.t.Helper()
	all := map[int64]*item{}
	batch := map[int64]*item{}
	for id := from; id < from+n; id++ {
		it := &item{Name: fmt.Sprintf("item-%d", id), Qty: id}
		all[id], batch[id] = it, it
		if len(batch) == 500 || id == from+n-1 {
			if err := d.apply(context.Background(), batch); err != nil {
				f.t.Fatal(err)
			}
			batch = map[int64]*item{}
		}
	}
	return all
}

// openEnv is the command line's connection to the stores.
func (f *fixture) openEnv() *Env {
	f.t.Helper()
	env, err := Open(context.Background(), f.cfg, f.plan, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(env.Close)
	return env
}

// readerRows reads what a PostgreSQL reader sees.
func (f *fixture) readerRows(ctx context.Context) (map[int64]item, error) {
	rows, err := f.pool.Query(ctx, `SELECT id, name, qty FROM item_view`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]item{}
	for rows.Next() {
		var id int64
		var it item
		if err := rows.Scan(&id, &it.Name, &it.Qty); err != nil {
			return nil, err
		}
		out[id] = it
	}
	return out, rows.Err()
}

// redisDocs reads every key of the view.
func (f *fixture) redisDocs(ctx context.Context) (map[int64]item, error) {
	keys, err := f.rdb.Keys(ctx, f.prefix+"item:*").Result()
	if err != nil {
		return nil, err
	}
	out := map[int64]item{}
	for _, k := range keys {
		raw, err := f.rdb.Get(ctx, k).Result()
		if err != nil {
			return nil, fmt.Errorf("GET %s: %w", k, err)
		}
		var doc struct {
			ID   json.Number `json:"id"`
			Name string      `json:"name"`
			Qty  int64       `json:"qty"`
		}
		if err := json.Unmarshal([]byte(raw), &doc); err != nil {
			return nil, fmt.Errorf("GET %s: %w", k, err)
		}
		id, _ := doc.ID.Int64()
		out[id] = item{doc.Name, doc.Qty}
	}
	return out, nil
}

// wantDocs checks that PostgreSQL readers and Redis hold exactly the
// documents of the source rows (items named "hidden…" have none).
func (f *fixture) wantDocs(source map[int64]*item) {
	f.t.Helper()
	want := map[int64]item{}
	for id, it := range source {
		if it != nil && !strings.HasPrefix(it.Name, "hidden") {
			want[id] = *it
		}
	}
	ctx := context.Background()
	for name, read := range map[string]func(context.Context) (map[int64]item, error){"postgres": f.readerRows, "redis": f.redisDocs} {
		got, err := read(ctx)
		if err != nil {
			f.t.Fatalf("%s: %v", name, err)
		}
		if len(got) != len(want) {
			f.t.Errorf("%s holds %d documents, want %d", name, len(got), len(want))
		}
		n := 0
		for id, w := range want {
			if g, ok := got[id]; !ok || g != w {
				if n++; n <= 5 {
					f.t.Errorf("%s: document %d = %+v (present %v), want %+v", name, id, g, ok, w)
				}
			}
		}
		for id := range got {
			if _, ok := want[id]; !ok {
				if n++; n <= 5 {
					f.t.Errorf("%s: document %d should not exist", name, id)
				}
			}
		}
	}
}

// readerTable is the physical table the reader view selects from.
func (f *fixture) readerTable() string {
	f.t.Helper()
	var def string
	if err := f.pool.QueryRow(context.Background(), `SELECT pg_get_viewdef('public.item_view'::regclass)`).Scan(&def); err != nil {
		f.t.Fatal(err)
	}
	for _, g := range []string{"item_view__g1", "item_view__g2", "item_view__g3", "item_view__g4"} {
		if strings.Contains(def, g) {
			return g
		}
	}
	return def
}

func (f *fixture) tableExists(name string) bool {
	f.t.Helper()
	var ok bool
	if err := f.pool.QueryRow(context.Background(), `SELECT to_regclass($1) IS NOT NULL`, "public."+name).Scan(&ok); err != nil {
		f.t.Fatal(err)
	}
	return ok
}

// unlinkMatching deletes the keys matching pattern, in batches.
func unlinkMatching(rdb *goredis.Client, pattern string) {
	ctx := context.Background()
	iter := rdb.Scan(ctx, 0, pattern, 10_000).Iterator()
	var batch []string
	for iter.Next(ctx) {
		if batch = append(batch, iter.Val()); len(batch) == 1000 {
			rdb.Unlink(ctx, batch...)
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		rdb.Unlink(ctx, batch...)
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		<-tick.C
	}
}
