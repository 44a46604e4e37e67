package cli

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
)

// TestHealthzDuringStartup: a start-up that takes long (index builds
// CONCURRENTLY that wait their turn, a slow query PostgreSQL) must not look
// dead to a liveness probe: admin.listen is bound first, /healthz answers
// 200 and /readyz 503 "starting"; a stop then ends the start-up at once,
// without error (nothing was in flight).
func TestHealthzDuringStartup(t *testing.T) {
	pg, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := pg.Accept(); err == nil {
			accepted <- c // a PostgreSQL that does not answer yet
		}
	}()
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	admin := free.Addr().String()
	free.Close()
	file := widgetsConfig(t, `kafka: { brokers: "127.0.0.1:1", group: healthz-startup }
stores: { postgres: { url: "postgres://app@`+pg.Addr().String()+`/shop?sslmode=disable" } }
admin: { listen: "`+admin+`" }`, `{ postgres: {} }`)
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
	stop := make(chan struct{})
	done := make(chan error, 1)
	logs := &testenv.Logs{}
	go func() {
		done <- runDaemon(ctx, stop, cfg, plan, slog.New(slog.NewTextHandler(logs, nil)), daemonOptions{})
	}()
	select {
	case c := <-accepted:
		defer c.Close()
	case err := <-done:
		t.Fatalf("run ended: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("never connected")
	}
	client := http.Client{Timeout: 5 * time.Second}
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := client.Get("http://" + admin + path)
		if err != nil {
			t.Fatalf("%s while starting: %v\n%s", path, err, logs)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz while starting = %d %s, want 200", code, body)
	}
	if code, body := get("/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "starting") {
		t.Errorf("/readyz while starting = %d %s, want 503 starting", code, body)
	}
	if code, _ := get("/metrics"); code != http.StatusOK {
		t.Errorf("/metrics while starting = %d, want 200", code)
	}

	close(stop) // the first signal
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("stopped during start-up: %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("a stop during start-up did not end it within 10s\n%s", logs)
	}
	if !strings.Contains(logs.String(), "stopped during start-up") {
		t.Errorf("no word of the stop in the log:\n%s", logs)
	}
}
