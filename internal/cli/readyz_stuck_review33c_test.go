package cli

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
)

// r33cStuckWrite starts a daemon (`run`, with the query API on serve when
// not empty) over the widgets view into PostgreSQL, waits until it is
// ready, then holds an ACCESS EXCLUSIVE lock on the view's table (as an
// operator's LOCK TABLE, VACUUM FULL or non-concurrent REINDEX does),
// produces one change and returns once the daemon's write of it waits on
// that lock. The lock is released when the test ends.
// shutdownTimeout is kafka.shutdown_timeout.
func r33cStuckWrite(t *testing.T, group, serve, shutdownTimeout string) *r33cRun {
	t.Helper()
	pool, url := testenv.Postgres(t)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "cqrs.public.widgets"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	file := widgetsConfig(t, `kafka: { brokers: "`+strings.Join(c.ListenAddrs(), ",")+`", group: `+group+`, shutdown_timeout: `+shutdownTimeout+` }
stores: { postgres: { url: "`+url+`" } }
admin: { listen: "127.0.0.1:0" }`, `{ postgres: {} }`)
	cfg, err := config.Load(file, os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &daemon{logs: &testenv.Logs{}, stop: make(chan struct{}), done: make(chan error, 1), cancel: cancel}
	r := &r33cRun{daemon: d, ended: make(chan struct{}), brokers: c.ListenAddrs()}
	log := slog.New(slog.NewTextHandler(d.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	go func() {
		defer close(r.ended)
		r.err = runDaemon(ctx, d.stop, cfg, plan, log, daemonOptions{serve: serve})
	}()
	t.Cleanup(func() {
		cancel() // hard stop: the lock may still be held
		select {
		case <-r.ended:
		case <-time.After(30 * time.Second):
			t.Errorf("run did not stop within 30s of a hard stop\n%s", d.logs)
		}
	})
	d.readyz(t, http.StatusOK, `"ready"`)

	tx, err := pool.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	if _, err := tx.Exec(context.Background(), `LOCK TABLE widget_view__g1 IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	value := `{"before":null,"after":{"id":"w1","name":"a"},"op":"c","ts_ms":1,
		"source":{"connector":"postgresql","name":"cqrs","db":"d","schema":"public","table":"widgets","lsn":100,"ts_ms":1}}`
	if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: "cqrs.public.widgets", Key: []byte(`{"id":"w1"}`), Value: []byte(value)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	r33cWaitBlocked(t, pool, d)
	return r
}

// r33cRun is a daemon r33cStuckWrite started: ended is closed once
// runDaemon returned err.
type r33cRun struct {
	*daemon
	ended   chan struct{}
	err     error
	brokers []string
}

// r33cWaitBlocked waits until a session waits for a lock on the view's
// table: the daemon's write of the batch.
func r33cWaitBlocked(t *testing.T, pool *pgxpool.Pool, d *daemon) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for tick := time.NewTicker(50 * time.Millisecond); ; <-tick.C {
		var waiting int
		err := pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_locks
			WHERE relation = 'widget_view__g1'::regclass AND NOT granted`).Scan(&waiting)
		if err != nil && err != pgx.ErrNoRows {
			t.Fatal(err)
		}
		if waiting > 0 {
			tick.Stop()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the daemon's write never waited on the locked table\n%s", d.logs)
		}
	}
}

// TestR33cReadyzWhileTheConsumerIsStuck: the brief's question "does
// readiness go false when the consumer is stuck" — it does not. A batch
// whose PostgreSQL write waits on a lock (an operator's LOCK TABLE, VACUUM
// FULL, a non-concurrent REINDEX, a session idle in transaction holding the
// table) holds every partition: nothing more is written or committed, and
// projector_consumer_lag climbs, yet /readyz answers 200 {"status":"ready"}
// for as long as the lock is held (observed: 40 s and more, then the batch
// went through once the lock was released). PostgreSQL answers its pings,
// so nothing is reported: the write neither fails nor times out (the
// PostgreSQL sink sets no statement or lock timeout).
//
// README, Operations: "/readyz: 503 with the failing component until
// everything answers: … `engine` while a batch cannot be applied …", and
// the stores: a request that never answers is bounded for Elasticsearch
// ("instead of a write that holds its partitions until the kernel gives
// the connection up"), and an outage "pauses consumption … /readyz names
// the store". A PostgreSQL write that holds the partitions indefinitely
// gets neither. Fix: bound the sink's statements (a lock_timeout /
// statement_timeout turning the hang into a retried outage that names
// `postgres`), or have readiness report a batch in flight past a bound.
// This test allows 30 s.
func TestR33cReadyzWhileTheConsumerIsStuck(t *testing.T) {
	d := r33cStuckWrite(t, "r33c-stuck", "", "10m")
	body := d.readyzUntilOr(t, 30*time.Second, func(status int, _ string) bool { return status == http.StatusServiceUnavailable })
	if !strings.HasPrefix(body, "503") {
		t.Errorf("/readyz with the batch's write blocked on a lock for 30 s: %s, want 503 naming postgres (or engine)", body)
	}
}

// readyzUntilOr polls /readyz until done accepts its answer or within is
// up, and returns the last answer as "STATUS BODY".
func (d *daemon) readyzUntilOr(t *testing.T, within time.Duration, done func(status int, body string) bool) string {
	t.Helper()
	deadline := time.Now().Add(within)
	var last string
	for tick := time.NewTicker(100 * time.Millisecond); ; <-tick.C {
		m := adminAddr.FindStringSubmatch(d.logs.String())
		if m == nil {
			t.Fatalf("no admin address in the log\n%s", d.logs)
		}
		status, body := httpGet(t, m[1]+"/readyz")
		last = strings.TrimSpace(strconv.Itoa(status) + " " + body)
		if done(status, body) || time.Now().After(deadline) {
			tick.Stop()
			return last
		}
	}
}
