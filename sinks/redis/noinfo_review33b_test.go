package redis

import (
	"errors"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestR33bCheckWithoutInfoIsAWarning: README (The stores, Redis): "A user
// whose ACL denies INFO (some managed services) gets a warning that the
// eviction policy could not be read — make sure it is noeviction".
// checkEviction gives that warning (ErrCheckIncomplete) only for NOPERM;
// a server on which INFO is not available at all (rename-command INFO "",
// or a proxy that does not pass it) answers "ERR unknown command 'info'",
// which Check returns as a plain error. stack.judgeRedis sorts such an
// error as an outage (redisDown): the daemon logs "redis does not answer
// at start", and a sink still waiting to be checked (stack.pendingRedis)
// holds every write for as long as the server runs, while it answers
// every write command. The policy simply could not be read: a warning.
func TestR33bCheckWithoutInfoIsAWarning(t *testing.T) {
	srv := testenv.PrivateRedis(t, "--rename-command", "INFO", "")
	opts, err := redis.ParseURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opts)
	defer func() { _ = client.Close() }()
	s, err := New(client, []View{{Name: "v", Key: "r33b:v:{id}"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Check(t.Context())
	if err != nil && !errors.Is(err, ErrCheckIncomplete) {
		t.Errorf("Check on a Redis without INFO: %v; want nil or a warning (ErrCheckIncomplete), not an error the start takes for an outage", err)
	}
	// The server takes writes all the same.
	write(t, s, doc("v", 1, 1, map[string]any{"id": 1}))
}
