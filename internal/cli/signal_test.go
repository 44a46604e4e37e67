package cli

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/stack"
)

// TestSigtermDuringStartup: a daemon still starting (here: the query
// PostgreSQL accepts the connection but never answers, as a hung server or
// a full connection queue does) has no batch in flight, so one SIGTERM
// stops it, at once and with status 0, saying so.
func TestSigtermDuringStartup(t *testing.T) {
	if f := os.Getenv("SIGNAL_STARTUP_CHILD"); f != "" {
		os.Exit(Main(context.Background(), []string{"run", "-c", f}, os.Stdout, os.Stderr))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c // held open, never answered
		}
	}()
	file := widgetsConfig(t, `kafka: { brokers: "127.0.0.1:1", group: signal-startup }
stores: { postgres: { url: "postgres://app@`+ln.Addr().String()+`/shop?sslmode=disable" } }
admin: { listen: "127.0.0.1:0" }`, `{ postgres: {} }`)
	cmd := exec.Command(os.Args[0], "-test.run=^TestSigtermDuringStartup$")
	cmd.Env = append(os.Environ(), "SIGNAL_STARTUP_CHILD="+file)
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
	case c := <-accepted:
		defer c.Close()
	case err := <-done:
		exited = true
		t.Fatalf("exited before connecting: %v\n%s", err, &stderr)
	case <-time.After(30 * time.Second):
		t.Fatal("never connected to the postgres listener")
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		exited = true
		if err != nil {
			t.Errorf("stopped during start-up: %v, want status 0\n%s", err, &stderr)
		}
		if !strings.Contains(stderr.String(), "stopped during start-up") {
			t.Errorf("no word of the stop:\n%s", &stderr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("one SIGTERM during start-up did not stop the daemon within 10s")
	}
}

// TestSecondSignalExitsNonZero: the first signal drains, the second stops
// at once, and `run` then exits 1 (records were left uncommitted), where a
// graceful stop exits 0.
func TestSecondSignalExitsNonZero(t *testing.T) {
	ctx, stop, release := twoStageSignals(context.Background(), slog.New(slog.DiscardHandler), daemonShutdown)
	defer release()
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-stop:
	case <-time.After(10 * time.Second):
		t.Fatal("the first signal did not close stop")
	}
	if ctx.Err() != nil {
		t.Fatal("the first signal cancelled the context")
	}
	if err := runExit(ctx, nil); err != nil {
		t.Errorf("graceful stop: %v, want exit 0", err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the second signal did not cancel the context")
	}
	var exit *exitError
	if err := runExit(ctx, ctx.Err()); !errors.As(err, &exit) || exit.code != ExitFailure {
		t.Errorf("forced stop: %v, want exit %d", err, ExitFailure)
	}
}

// TestRunExitCodes: what runDaemon returns, as `run`'s exit status.
func TestRunExitCodes(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		err  error
		want int
	}{
		{"stopped", context.Background(), nil, ExitOK},
		{"caller cancelled", cancelled, context.Canceled, ExitOK},
		{"failure", context.Background(), errors.New("boom"), ExitFailure},
		{"store url", context.Background(), &wrapped{stack.ErrConfig}, ExitUsage},
		{"usage", context.Background(), usageError(errors.New("bad")), ExitUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code := ExitOK
			var exit *exitError
			if err := runExit(tc.ctx, tc.err); errors.As(err, &exit) {
				code = exit.code
			} else if err != nil {
				t.Fatalf("not an exit error: %v", err)
			}
			if code != tc.want {
				t.Errorf("exit %d, want %d", code, tc.want)
			}
		})
	}
}

type wrapped struct{ err error }

func (w *wrapped) Error() string { return "stores.redis.url: " + w.err.Error() }
func (w *wrapped) Unwrap() error { return w.err }
