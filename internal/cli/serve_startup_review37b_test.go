package cli

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// r37bHungPostgres is a listener that accepts connections and never
// answers, as a hung PostgreSQL (or a full accept queue behind a proxy)
// does; accepted receives each connection, held open.
func r37bHungPostgres(t *testing.T) (addr string, accepted <-chan net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan net.Conn, 16)
	var held []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
			select {
			case ch <- c:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range held {
			c.Close()
		}
	})
	return ln.Addr().String(), ch
}

// TestR37bServeStopsOnSigtermDuringStartup: `projector serve` while its
// query PostgreSQL accepts the connection and never answers. README
// (Commands): "for `serve`, [SIGINT/SIGTERM] stop taking requests and
// finish those in flight"; serve's help: "SIGINT/SIGTERM: take no new
// requests, finish those in flight, exit 0". Nothing is in flight while
// it starts, and `run` in the same state stops at once
// (TestSigtermDuringStartup).
//
// serve installs its signal handler (twoStageSignals) before connecting,
// so SIGTERM no longer kills the process, but the first signal only
// closes the stop channel, which serveQueries reads after query.New has
// connected: query.New (pool.Ping) waits on cmd.Context(), which only a
// second signal cancels. One SIGTERM is swallowed and serve goes on
// waiting for PostgreSQL — until pgxpool's own background connect timeout
// (2 minutes, stack.PoolConfig sets none) — serving nothing meanwhile, not
// even /healthz; Kubernetes SIGKILLs it after its 30s grace period.
// `validate` bounds the same connection attempt to 10s (checkOnline).
func TestR37bServeStopsOnSigtermDuringStartup(t *testing.T) {
	if f := os.Getenv("R37B_SERVE_STARTUP_CHILD"); f != "" {
		os.Exit(Main(context.Background(), []string{"serve", "-c", f, "--listen", "127.0.0.1:0", "--admin-listen", "off"}, os.Stdout, os.Stderr))
	}
	addr, accepted := r37bHungPostgres(t)
	file := widgetsConfig(t, `kafka: { brokers: "127.0.0.1:1", group: r37b-serve-startup }
stores: { postgres: { url: "postgres://app@`+addr+`/shop?sslmode=disable" } }
admin: { listen: off }`, `{ postgres: {} }`)
	cmd := exec.Command(os.Args[0], "-test.run=^TestR37bServeStopsOnSigtermDuringStartup$")
	cmd.Env = append(os.Environ(), "R37B_SERVE_STARTUP_CHILD="+file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	exited := false
	defer func() {
		if !exited {
			_ = cmd.Process.Kill()
			<-done
		}
	}()
	select {
	case <-accepted:
	case err := <-done:
		exited = true
		t.Fatalf("serve exited before connecting: %v\n%s", err, &stderr)
	case <-time.After(30 * time.Second):
		t.Fatal("serve never connected to the postgres listener")
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		exited = true
		t.Logf("serve exited after one SIGTERM: %v\n%s", err, &stderr)
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		exited = true
		t.Errorf("one SIGTERM while serve waits for PostgreSQL at start did not stop it within 10s (nothing is in flight)\nstderr:\n%s", &stderr)
	}
}
