package testenv

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestR29jServicesUpLeavesForeignRedisAlone: README, Tests: "`make test`
// runs `scripts/services.sh up` (PostgreSQL, Redis and a three-master Redis
// Cluster on dedicated ports ...; it never touches a database it did not
// create)". services.sh takes any Redis answering PING on a cluster port for
// one of its own nodes; when that Redis is not a healthy member of its
// cluster (here: a plain Redis someone else runs on that port), the script
// "assigns the slots from scratch" and first runs FLUSHALL (and CLUSTER
// RESET HARD) on it: another user's data is deleted.
//
// The script runs with its own directory, PostgreSQL and Redis ports, so
// the shared services are not involved; its servers are stopped with
// `services.sh down` at the end.
func TestR29jServicesUpLeavesForeignRedisAlone(t *testing.T) {
	script, err := filepath.Abs("../../scripts/services.sh")
	if err != nil {
		t.Fatal(err)
	}
	foreign := PrivateRedis(t) // someone else's Redis, on what will be the cluster's first port
	ctx := context.Background()
	fc := redis.NewClient(&redis.Options{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(foreign.Port()))})
	defer fc.Close()
	if err := fc.Set(ctx, "r29j:precious", "keep me", 0).Err(); err != nil {
		t.Fatal(err)
	}
	cluster := foreign.Port()
	for _, p := range []int{cluster + 1, cluster + 2} {
		if !R29jFree(p) {
			t.Skipf("port %d, next to the foreign Redis's, is taken", p)
		}
	}
	bus := R29jFreeRun(t, 3)

	dir := t.TempDir()
	// The script's PostgreSQL runs as the postgres user when root: it must
	// reach its data directory.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	env := append(os.Environ(),
		"PROJECTOR_SERVICES_DIR="+dir,
		"PROJECTOR_PG_PORT="+strconv.Itoa(freePort(t)),
		"PROJECTOR_REDIS_PORT="+strconv.Itoa(freePort(t)),
		"PROJECTOR_REDIS_CLUSTER_PORT="+strconv.Itoa(cluster),
		"PROJECTOR_REDIS_CLUSTER_BUS_PORT="+strconv.Itoa(bus),
	)
	t.Cleanup(func() {
		down := exec.Command("bash", script, "down")
		down.Env = env
		_ = down.Run()
	})
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	up := exec.CommandContext(ctx, "bash", script, "up")
	up.Env = env
	var out bytes.Buffer
	up.Stdout, up.Stderr = &out, &out
	upErr := up.Run()

	got, err := fc.Get(ctx, "r29j:precious").Result()
	if err != nil || got != "keep me" {
		t.Errorf("services.sh up (%v) with another Redis on its cluster port %d: that Redis's key is gone (GET: %q, %v), want it untouched\n%s",
			upErr, cluster, got, err, &out)
	}
}

// R29jFree reports whether nothing listens on the loopback port and it can
// be bound.
func R29jFree(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

// R29jFreeRun is the first of n consecutive free loopback ports.
func R29jFreeRun(t *testing.T, n int) int {
	t.Helper()
	for range 50 {
		p := freePort(t)
		ok := p+n <= 65535
		for i := 1; ok && i < n; i++ {
			ok = R29jFree(p + i)
		}
		if ok {
			return p
		}
	}
	t.Fatal(fmt.Sprintf("no %d consecutive free ports", n))
	return 0
}
