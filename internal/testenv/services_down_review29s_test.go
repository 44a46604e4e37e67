package testenv

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestR29sServicesDownLeavesForeignRedisAlone: README, Tests: services.sh
// "never touches a database it did not create", and `up` now refuses a
// Redis on a cluster port that is not one of its own nodes ("port … is
// taken by a Redis this script did not start"). `down` sends SHUTDOWN
// NOSAVE to whatever answers on the cluster ports, without the own_node
// check `up` makes: another user's Redis (its own cluster node, say) is
// stopped and its unsaved data is lost.
//
// The script runs with its own directory and free PostgreSQL and Redis
// ports: the shared services are not involved.
func TestR29sServicesDownLeavesForeignRedisAlone(t *testing.T) {
	script, err := filepath.Abs("../../scripts/services.sh")
	if err != nil {
		t.Fatal(err)
	}
	foreign := PrivateRedis(t) // someone else's Redis, on the cluster's first port
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fc := redis.NewClient(&redis.Options{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(foreign.Port())), MaxRetries: -1})
	defer fc.Close()
	if err := fc.Set(ctx, "r29s:precious", "keep me", 0).Err(); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(),
		"PROJECTOR_SERVICES_DIR="+t.TempDir(),
		"PROJECTOR_PG_PORT="+strconv.Itoa(freePort(t)),
		"PROJECTOR_REDIS_PORT="+strconv.Itoa(freePort(t)),
		"PROJECTOR_REDIS_CLUSTER_PORT="+strconv.Itoa(foreign.Port()),
		"PROJECTOR_REDIS_CLUSTER_BUS_PORT="+strconv.Itoa(freePort(t)),
	)
	down := exec.CommandContext(ctx, "bash", script, "down")
	down.Env = env
	var out bytes.Buffer
	down.Stdout, down.Stderr = &out, &out
	downErr := down.Run()
	if err := fc.Ping(ctx).Err(); err != nil {
		t.Errorf("services.sh down (%v) stopped the Redis on its cluster port %d that it did not start (PING: %v), want it untouched\n%s",
			downErr, foreign.Port(), err, &out)
	}
}
