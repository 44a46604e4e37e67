package query_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/query"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
)

// notesYAML: a view in Redis and, unless redisOnly, PostgreSQL.
func notesYAML(redisOnly bool) string {
	pg := "postgres: { table: notes }\n      "
	if redisOnly {
		pg = ""
	}
	return `
version: 1
kafka: { brokers: "localhost:1", group: lite }
stores:
  postgres: { url: "${PG}" }
  redis: { url: "${REDIS}" }
sources:
  notes:
    topic: app.public.notes
    key: id
    columns: { id: bigint, body: text }
views:
  notes:
    from: notes
    fields: { id: id, body: body }
    sinks:
      ` + pg + `redis: { key: "note:{id}" }
`
}

// notesOverRedis is a query server whose PostgreSQL holds the note
// {"id": 1, "body": "hello"} and whose Redis is at redisAddr.
func notesOverRedis(t *testing.T, redisAddr string, redisOnly bool, log *slog.Logger) *query.Server {
	t.Helper()
	pool, pgURL := testenv.Postgres(t)
	ctx := context.Background()
	for _, q := range []string{`CREATE TABLE notes (id bigint PRIMARY KEY, body text)`, `INSERT INTO notes VALUES (1, 'hello')`} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	return offlineServer(t, notesYAML(redisOnly), map[string]string{"PG": pgURL, "REDIS": "redis://" + redisAddr + "/0"}, query.Options{Logger: log})
}

// offlineServer is a query server over a configuration whose ${VARIABLES}
// env fills, without Kafka: read-your-writes then only compares positions.
func offlineServer(t *testing.T, yaml string, env map[string]string, opts query.Options) *query.Server {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(yaml), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Kafka.Brokers = nil
	api, err := query.New(context.Background(), cfg, plan, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(api.Close)
	return api
}

// deadAddr is an address nothing listens on: a connection is refused.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// silentAddr is an address that accepts connections and never answers,
// like a Redis host that is gone behind a load balancer.
func silentAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// records keeps what a logger logged.
type records struct {
	mu  sync.Mutex
	all []slog.Record
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *records) WithGroup(string) slog.Handler            { return r }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all = append(r.all, rec)
	return nil
}

func (r *records) at(level slog.Level) []slog.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []slog.Record
	for _, rec := range r.all {
		if rec.Level == level {
			out = append(out, rec)
		}
	}
	return out
}

// GET /docs/{id} reads Redis, then PostgreSQL on a miss: with Redis
// unreachable it reads PostgreSQL too, and says so once at warn, instead
// of failing the whole endpoint while a store that has the doc answers.
func TestGetRedisDownFallsBackToPostgres(t *testing.T) {
	log := &records{}
	api := notesOverRedis(t, deadAddr(t), false, slog.New(log))
	h := httptest.NewServer(api.Handler())
	t.Cleanup(h.Close)
	st, body := call(t, h.URL, "/v1/views/notes/docs/1")
	if st != http.StatusOK || body["body"] != "hello" {
		t.Fatalf("GET /docs/1 with Redis down, PostgreSQL up: %d %v, want 200 and the doc from PostgreSQL", st, body)
	}
	if warns := log.at(slog.LevelWarn); len(warns) != 1 {
		t.Errorf("logged %d warnings, want 1 saying Redis is unavailable: %v", len(warns), warns)
	}
	if errs := log.at(slog.LevelError); len(errs) != 0 {
		t.Errorf("logged errors: %v", errs)
	}
}

// A view only in Redis has nothing to fall back to: Redis down is a 503
// store_unavailable, which clients and proxies retry, not a 500.
func TestGetRedisDownWithoutPostgres(t *testing.T) {
	api := notesOverRedis(t, deadAddr(t), true, nil)
	h := httptest.NewServer(api.Handler())
	t.Cleanup(h.Close)
	st, body := call(t, h.URL, "/v1/views/notes/docs/1")
	if st != http.StatusServiceUnavailable || body["code"] != "store_unavailable" {
		t.Errorf("GET /docs/1 with its only store down: %d %v, want 503 store_unavailable", st, body)
	}
}

// A Redis that accepts connections and never answers gets only part of
// the request's time, so PostgreSQL still answers within it.
func TestGetRedisSilentFallsBackInTime(t *testing.T) {
	api := notesOverRedis(t, silentAddr(t), false, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	doc, err := api.Get(ctx, "notes", "1")
	if err != nil {
		t.Fatalf("Get with Redis silent, PostgreSQL up: %v, want the doc from PostgreSQL within the request's time", err)
	}
	if got := canonical(t, string(doc)); got != `{"body":"hello","id":1}` {
		t.Errorf("Get: %s, want {\"body\":\"hello\",\"id\":1}", doc)
	}
}
