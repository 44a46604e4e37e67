package stack

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/admin"
)

// TestReview30kReadyzKeepsStoreDetails: /readyz is unauthenticated and,
// for Kubernetes probes, usually listens on every interface (admin.listen
// ":9464"). While a store does not answer it names the store (README
// "Operations": "503 naming postgres, redis or elasticsearch"), but it
// shows the driver's whole error: PostgreSQL's role and database, and the
// host and port of the store, to anyone who can reach the port. Those
// details belong in the log, which already has them.
func TestReview30kReadyzKeepsStoreDetails(t *testing.T) {
	const (
		role = "orders_owner_r30k"
		db   = "customers_prod_r30k"
		host = "127.0.0.1:1"
	)
	pgURL := "postgres://" + role + ":Hunter2Secret@" + host + "/" + db + "?sslmode=disable&connect_timeout=1"
	cfg, plan := compilePlan(t, redisViewYAML, pgURL, "redis://:RedisPw99@127.0.0.1:2/0")
	stores, err := OpenStores(cfg, plan, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer stores.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { stores.Watch(ctx, 20*time.Millisecond) })
	defer func() { cancel(); wg.Wait() }()

	srv, err := admin.Listen("127.0.0.1:0", nil, stores.Problems, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()
	defer func() { _ = srv.Shutdown(context.Background()); <-served }()

	var body string
	deadline := time.After(20 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		res, err := http.Get("http://" + srv.Addr() + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		body = string(b)
		if !strings.Contains(body, notChecked) && strings.Contains(body, `"postgres"`) && strings.Contains(body, `"redis"`) {
			break
		}
		select {
		case <-deadline:
			t.Fatalf("/readyz never reported both stores down: %s", body)
		case <-tick.C:
		}
	}
	for _, secret := range []string{role, db, host, "127.0.0.1:2", "Hunter2Secret", "RedisPw99"} {
		if strings.Contains(body, secret) {
			t.Errorf("/readyz, unauthenticated, shows %q: %s", secret, body)
		}
	}
}
