package projector_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/kafkautil"
	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/projector"
)

// cluster is an in-process Kafka speaking the real protocol, with a client
// to produce and to check the group's progress.
type cluster struct {
	addrs  []string
	client *kgo.Client
	adm    *kadm.Client
	topics []string
}

func newCluster(t *testing.T, partitions int32, topics ...string) *cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &cluster{addrs: c.ListenAddrs(), client: cl, adm: kadm.NewClient(cl), topics: topics}
}

// produce appends records in order (one partition keeps their order per key).
func (c *cluster) produce(t *testing.T, recs ...*kgo.Record) {
	t.Helper()
	if err := c.client.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// waitCaughtUp waits until group has committed everything produced so far,
// which happens only after every sink acknowledged it.
func (c *cluster) waitCaughtUp(t *testing.T, group string, done <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res := make(chan error, 1)
	go func() { res <- kafkautil.WaitCaughtUp(ctx, c.adm, group, 90*time.Second, c.topics...) }()
	select {
	case err := <-res:
		if err != nil {
			t.Fatal(err)
		}
	case err := <-done:
		t.Fatalf("consumer stopped before catching up: %v", err)
	}
}

// loadPlan parses a configuration given as text, with env for ${VAR}.
func loadPlan(t *testing.T, yaml string, env map[string]string) (*config.Config, *projections.Plan) {
	t.Helper()
	lookup := func(k string) (string, bool) {
		v, ok := env[k]
		if !ok {
			v, ok = os.LookupEnv(k)
		}
		return v, ok
	}
	cfg, err := config.Parse("test.yaml", []byte(yaml), lookup)
	if err != nil {
		t.Fatalf("config:\n%v", err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatalf("plan:\n%v", err)
	}
	return cfg, plan
}

// member is one running `projector run`.
type member struct {
	stack  *stack.Stack
	cancel context.CancelFunc // hard stop: no drain, no commit
	stop   chan struct{}      // graceful stop
	done   chan error
}

func startMember(t *testing.T, cfg *config.Config, plan *projections.Plan, batch int) *member {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var log *slog.Logger
	if os.Getenv("PROJECTOR_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	st, err := stack.Wire(ctx, cfg, plan, log)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	cons, err := projector.NewConsumer(st.Engine, projector.ConsumerOptions{
		Brokers: cfg.Kafka.Brokers, Group: cfg.Kafka.Group, ClientID: "test",
		BatchSize: batch, DeadLetterTopic: cfg.Kafka.DeadLetterTopic,
		StopOnError: cfg.Errors.Tolerance == "none",
		Extra:       []kgo.Opt{kgo.AllowAutoTopicCreation()},
		Logger:      log,
	})
	if err != nil {
		cancel()
		st.Close()
		t.Fatal(err)
	}
	m := &member{stack: st, cancel: cancel, stop: make(chan struct{}), done: make(chan error, 1)}
	go func() { m.done <- cons.Run(ctx, m.stop) }()
	t.Cleanup(func() { m.kill(t) })
	return m
}

// kill stops the member at once, as a crash would (nothing more committed).
func (m *member) kill(t *testing.T) {
	if m.cancel == nil {
		return
	}
	m.cancel()
	m.cancel = nil
	if err := <-m.done; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("member: %v", err)
	}
	m.stack.Close()
}

// drain stops the member gracefully.
func (m *member) drain(t *testing.T) {
	close(m.stop)
	if err := <-m.done; err != nil {
		t.Errorf("drain: %v", err)
	}
	m.cancel()
	m.cancel = nil
	m.stack.Close()
}

func env(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func brokers(c *cluster) string { return strings.Join(c.addrs, ",") }

func must[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprintf("test setup: %v", err))
	}
	return v
}
