package cli

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestR33cRedisDownLogsNoBogusClientWarning: README, Operations: "Logs go
// through log/slog …, the Redis client's included (component=redis; its
// repeated "failed to dial" at debug, anything else at warn)", and The
// stores: "A Redis that does not answer at start is an outage like any
// other: the daemon starts and retries its writes."
//
// With Redis down at start, `projector run` logs, at start and then with
// every 5-second probe for as long as the outage lasts:
//
//	level=WARN msg="failed to initialize maintnotifications: failed to register
//	handler for MOVING: handler register failed for 'MOVING': cannot overwrite
//	existing handler" component=redis
//
// It is no outage report (that is "redis does not answer at start") but a
// client-construction mistake: redisconn.Deferred.Resolve builds its probe
// from a copy of the live client's *redis.Options (`asked :=
// *single.Options()`), which shares the live client's push-notification
// processor, where the MOVING handler is already registered; go-redis then
// fails to register it again and warns. An operator paging on WARN lines
// gets a cryptic one every 5 s that says nothing about Redis being down.
// Fix (internal/redisconn): build the probe from freshly parsed options (or
// clear PushNotificationProcessor / disable maint notifications on the
// probe's copy).
func TestR33cRedisDownLogsNoBogusClientWarning(t *testing.T) {
	_, url := testenv.Postgres(t)
	// A port nothing listens on: Redis is down.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	redisAddr := ln.Addr().String()
	ln.Close()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "cqrs.public.widgets"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	t.Setenv("R33C_PG_URL", url)
	t.Setenv("R33C_REDIS_URL", "redis://default:r33c-secret-pw@"+redisAddr+"/0")
	file := widgetsConfig(t, `kafka: { brokers: "`+strings.Join(c.ListenAddrs(), ",")+`", group: r33c-redislog }
stores:
  postgres: { url: "${R33C_PG_URL}" }
  redis: { url: "${R33C_REDIS_URL}" }
admin: { listen: "127.0.0.1:0" }`, `{ postgres: {}, redis: { key: "r33c-widget:{id}" } }`)

	ctx, cancel := context.WithCancel(context.Background())
	logs := &testenv.Logs{}
	exit := make(chan int, 1)
	go func() { exit <- Main(ctx, []string{"run", "-c", file}, logs, logs) }()
	defer func() {
		cancel()
		select {
		case <-exit:
		case <-time.After(30 * time.Second):
			t.Errorf("run did not stop within 30s\n%s", logs)
		}
	}()
	// Started: the outage was found and consuming began.
	deadline := time.Now().Add(60 * time.Second)
	for tick := time.NewTicker(50 * time.Millisecond); !strings.Contains(logs.String(), "msg=projecting"); <-tick.C {
		select {
		case code := <-exit:
			t.Fatalf("run exited %d before projecting:\n%s", code, logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("run never started projecting:\n%s", logs)
		}
	}
	out := logs.String()
	if !strings.Contains(out, "redis does not answer at start") {
		t.Fatalf("no word of the Redis outage:\n%s", out)
	}
	if strings.Contains(out, "r33c-secret-pw") {
		t.Errorf("the Redis password is in the log:\n%s", out)
	}
	for line := range strings.Lines(out) {
		if strings.Contains(line, "maintnotifications") || strings.Contains(line, "cannot overwrite existing handler") {
			t.Errorf("a bogus Redis client warning, repeated with every probe while Redis is down:\n%s", line)
		}
	}
}
