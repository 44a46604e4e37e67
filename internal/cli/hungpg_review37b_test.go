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

// r37bProxy forwards TCP connections to target until frozen; frozen, it
// forwards nothing more in either direction and answers no new connection,
// but keeps every connection open: what a PostgreSQL whose host hangs, or
// a network partition that drops packets, looks like to a client.
type r37bProxy struct {
	ln      net.Listener
	target  string
	frozen  atomic.Bool
	swallow atomic.Int64 // bytes clients sent while frozen
	mu      sync.Mutex
	conns   []net.Conn
	wg      sync.WaitGroup
}

func r37bNewProxy(t *testing.T, target string) *r37bProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &r37bProxy{ln: ln, target: target}
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.hold(c)
			if p.frozen.Load() {
				p.wg.Go(func() { p.pipe(nil, c, true) })
				continue
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.hold(u)
			p.wg.Go(func() { p.pipe(u, c, true) })
			p.wg.Go(func() { p.pipe(c, u, false) })
		}
	})
	t.Cleanup(p.cut)
	return p
}

func (p *r37bProxy) hold(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conns = append(p.conns, c)
}

// pipe copies src to dst until either ends, dropping what comes while
// frozen (fromClient: counted).
func (p *r37bProxy) pipe(dst, src net.Conn, fromClient bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			switch {
			case p.frozen.Load():
				if fromClient {
					p.swallow.Add(int64(n))
				}
			case dst != nil:
				if _, err := dst.Write(buf[:n]); err != nil {
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// cut closes the listener and every connection, and waits for the pipes.
func (p *r37bProxy) cut() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// TestR37bSecondSignalExitsAtOnceWhilePostgresHangs: README, Commands and
// Operations (Stopping): "A second signal exits at once with status 1:
// what was not committed is consumed again on restart." The query
// PostgreSQL hangs (its host froze, or a partition drops its packets: the
// connections stay open and nothing answers) while the daemon is idle.
//
// After the second signal (runDaemon's context cancelled), runDaemon
// still waits (a) 5s for the rebuild watcher to deregister the instance
// (internal/rebuild/watch.go, Watcher.Close: a context of its own from
// context.Background), and then (b) for the pool to close
// (stack.Stack.Close → pgxpool.Pool.Close, which waits until every
// connection is back): pgxpool pings a connection idle for more than a
// second when it is acquired, and a ping whose Acquire was cancelled goes
// on in the background, holding its connection, for up to a minute each
// (pgxpool v5.13, Pool.Acquire) — stack.PoolConfig sets no PingTimeout.
// Measured: runDaemon had not returned 90s after the "exit at once"
// signal, past any grace period: Kubernetes SIGKILLs it. (A first signal,
// which should end within kafka.shutdown_timeout and the 5s leave, waits
// the same: not done after 60s with shutdown_timeout 2s.)
func TestR37bSecondSignalExitsAtOnceWhilePostgresHangs(t *testing.T) {
	_, pgURL := testenv.Postgres(t)
	u, err := url.Parse(pgURL)
	if err != nil {
		t.Fatal(err)
	}
	px := r37bNewProxy(t, u.Host)
	u.Host = px.ln.Addr().String()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "cqrs.public.widgets"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	file := widgetsConfig(t, fmt.Sprintf(`kafka: { brokers: %q, group: r37b-hung-pg, shutdown_timeout: 2s }
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
	defer cancel()
	d := &daemon{logs: &testenv.Logs{}, stop: make(chan struct{}), done: make(chan error, 1), cancel: cancel}
	log := slog.New(slog.NewTextHandler(d.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	go func() { d.done <- runDaemon(ctx, d.stop, cfg, plan, log, daemonOptions{}) }()
	defer func() {
		px.cut() // every connection ends: whatever waits on PostgreSQL fails now
		select {
		case <-d.done:
		case <-time.After(30 * time.Second):
			t.Errorf("runDaemon did not return after PostgreSQL's connections were cut\n%s", d.logs)
		}
	}()
	d.readyz(t, 200, `"ready"`) // joined, stores answering
	px.frozen.Store(true)
	// The daemon talks to the hung PostgreSQL (the watcher's heartbeat
	// every 2s, the store probes every 5s): /readyz names it.
	d.readyz(t, 503, `"state"`)
	if px.swallow.Load() == 0 {
		t.Fatal("premise: nothing was sent to the hung PostgreSQL")
	}
	close(d.stop) // first signal
	cancel()      // second signal: exit at once
	hard := time.Now()
	select {
	case err := <-d.done:
		d.done <- err // for the deferred wait, which receives it again
		t.Logf("returned %s after the second signal", time.Since(hard).Round(time.Millisecond))
	case <-time.After(3 * time.Second):
		t.Errorf("runDaemon still running 3s after the second signal (README: it exits at once), while PostgreSQL hangs\n%s", d.logs)
	}
}
