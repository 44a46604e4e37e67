package redis

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/projectorhq/projector/internal/redisconn"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks"
)

// TestR29tAddrSeedOnStandaloneRefusesEveryDoc: README (Redis Cluster):
// "?addr=host:port" names cluster seeds and makes the client a cluster one
// without asking. Pointed (by mistake) at a standalone Redis, every command
// of that cluster client fails with "ERR This instance has cluster support
// disabled", which the sink classifies as the doc's fault: every doc of
// every batch is refused (to the dead-letter topic) while the server is
// fine. Before today ParseURL refused addr= as a configuration error. Such
// a reply is about the server (its mode), not the doc: it must not refuse
// the docs.
func TestR29tAddrSeedOnStandaloneRefusesEveryDoc(t *testing.T) {
	srv := testenv.PrivateRedis(t)
	ctx := context.Background()
	addr := fmt.Sprintf("127.0.0.1:%d", srv.Port())
	c, _, err := redisconn.Open(ctx, "redis://"+addr+"?addr="+addr, redisconn.Tuning{})
	if errors.Is(err, redisconn.ErrNotCluster) {
		return // refused at start, as a configuration error: fine
	}
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	s, err := New(c, []View{{Name: "v", Key: "r29t:v:{id}"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Write(ctx, []sinks.Doc{doc("v", 1, 1, map[string]any{"id": 1})})
	var be *sinks.BatchError
	if errors.As(err, &be) {
		t.Fatalf("every doc refused (dead-lettered) on a healthy standalone Redis: %v", err)
	}
}
