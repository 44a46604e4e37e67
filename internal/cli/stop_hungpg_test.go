package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
)

// hangingProxy forwards TCP connections to a PostgreSQL until hang; then
// it forwards nothing more and answers no new connection, keeping every
// connection open: a server whose host froze, or a partition that drops
// its packets.
type hangingProxy struct {
	ln     net.Listener
	hung   atomic.Bool
	unsent atomic.Int64 // bytes clients sent since hang
	mu     sync.Mutex
	conns  []net.Conn
	wg     sync.WaitGroup
}

func newHangingProxy(t *testing.T, target string) *hangingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &hangingProxy{ln: ln}
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.keep(c)
			var server net.Conn
			if !p.hung.Load() {
				if server, err = net.Dial("tcp", target); err != nil {
					c.Close()
					continue
				}
				p.keep(server)
				p.wg.Go(func() { p.forward(c, server, false) })
			}
			p.wg.Go(func() { p.forward(server, c, true) })
		}
	})
	t.Cleanup(p.close)
	return p
}

func (p *hangingProxy) keep(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conns = append(p.conns, c)
}

// forward copies from src to dst (nil: nowhere) until either ends,
// dropping what comes once hung.
func (p *hangingProxy) forward(dst, src net.Conn, fromClient bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		switch {
		case n > 0 && p.hung.Load():
			if fromClient {
				p.unsent.Add(int64(n))
			}
		case n > 0 && dst != nil:
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// close ends every connection: whatever waits on the server fails.
func (p *hangingProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// hungDaemon is a daemon consuming idle with a kafka.shutdown_timeout of
// 2s whose query PostgreSQL hung after it was ready and while it used it.
func hungDaemon(t *testing.T) (d *daemon, proxy *hangingProxy) {
	t.Helper()
	_, pgURL := testenv.Postgres(t)
	u, err := url.Parse(pgURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy = newHangingProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "cqrs.public.widgets"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	file := widgetsConfig(t, fmt.Sprintf(`kafka: { brokers: %q, group: hung-pg, shutdown_timeout: 2s }
stores: { postgres: { url: %q } }
admin: { listen: "127.0.0.1:0" }`, strings.Join(c.ListenAddrs(), ","), u.String()), `{ postgres: {} }`)
	cfg, err := config.Load(file, os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d = &daemon{logs: &testenv.Logs{}, stop: make(chan struct{}), done: make(chan error, 1), cancel: cancel}
	log := slog.New(slog.NewTextHandler(d.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	go func() { d.done <- runDaemon(ctx, d.stop, cfg, plan, log, daemonOptions{}) }()
	t.Cleanup(func() {
		cancel()
		proxy.close()
		select {
		case err := <-d.done:
			d.done <- err // for the test, if it did not receive it
		case <-time.After(30 * time.Second):
			t.Errorf("runDaemon did not return once PostgreSQL's connections were cut\n%s", d.logs)
		}
	})
	d.readyz(t, 200, `"ready"`)
	proxy.hung.Store(true)
	// The rebuild watcher's heartbeat (every 2s) talks to it.
	deadline := time.Now().Add(30 * time.Second)
	for tick := time.NewTicker(20 * time.Millisecond); proxy.unsent.Load() == 0; <-tick.C {
		if time.Now().After(deadline) {
			t.Fatalf("nothing was sent to the hung PostgreSQL in 30s\n%s", d.logs)
		}
	}
	return d, proxy
}

// returnsWithin waits for runDaemon's end up to limit, saying how long it
// took.
func (d *daemon) returnsWithin(t *testing.T, limit time.Duration, what string) {
	t.Helper()
	since := time.Now()
	select {
	case err := <-d.done:
		d.done <- err
		t.Logf("returned %s after %s: %v", time.Since(since).Round(time.Millisecond), what, err)
	case <-time.After(limit):
		t.Errorf("runDaemon still running %s after %s, while PostgreSQL hangs\n%s", limit, what, d.logs)
	}
}

// TestSecondSignalExitsAtOnceWhilePostgresHangs: README, Stopping: "A
// second signal exits at once with status 1", a PostgreSQL that hangs
// included: the rebuild watcher's deregistration and the pool's close are
// not waited for.
func TestSecondSignalExitsAtOnceWhilePostgresHangs(t *testing.T) {
	d, _ := hungDaemon(t)
	close(d.stop)
	d.cancel()
	d.returnsWithin(t, 2*time.Second, "the second signal")
}

// TestFirstSignalEndsWhilePostgresHangs: README, Stopping: the first
// signal ends within kafka.shutdown_timeout, the leave's 5s and the 3s
// closing the connections gets, a PostgreSQL that hangs included.
func TestFirstSignalEndsWhilePostgresHangs(t *testing.T) {
	d, _ := hungDaemon(t)
	close(d.stop)
	d.returnsWithin(t, 2*time.Second+5*time.Second+closeTimeout+2*time.Second, "the first signal")
	// The rebuild watcher's deregistration waits 5s on its own.
	if !strings.Contains(d.logs.String(), "exiting without waiting for the connections to close") {
		t.Errorf("no warning that the connections were left to close:\n%s", d.logs)
	}
}

// TestServeStopsAtOnceWhileConnecting: `serve` whose query PostgreSQL
// takes the connection and never answers has nothing in flight: one
// signal stops its start-up at once, exit 0, as run's.
func TestServeStopsAtOnceWhileConnecting(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 8)
	go func() {
		defer close(accepted)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c // held open, never answered
		}
	}()
	defer func() {
		ln.Close()
		for c := range accepted {
			c.Close()
		}
	}()
	file := widgetsConfig(t, `kafka: { brokers: "127.0.0.1:1", group: serve-startup }
stores: { postgres: { url: "postgres://app@`+ln.Addr().String()+`/shop?sslmode=disable" } }
admin: { listen: off }`, `{ postgres: {} }`)
	cfg, err := config.Load(file, os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	logs := &testenv.Logs{}
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- serveQueries(context.Background(), stop, cfg, plan, "127.0.0.1:0", slog.New(slog.NewTextHandler(logs, nil)))
	}()
	select {
	case c := <-accepted:
		accepted <- c // closed with the others
	case err := <-done:
		t.Fatalf("serve ended before connecting: %v\n%s", err, logs)
	}
	close(stop)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve stopped during start-up: %v, want nil (exit 0)", err)
		}
		if !strings.Contains(logs.String(), "stopped during start-up") {
			t.Errorf("no word of the stop:\n%s", logs)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("serve still starting 5s after a stop\n%s", logs)
	}
}
