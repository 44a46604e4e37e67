package rebuild

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/rebuild/registry"
)

// TestReplayNamesRefusedCredentials: a rebuild --from kafka whose brokers
// reject the SASL password fails saying so, not only with the EOF or
// timeout the failed listing ends in, and never shows the password.
func TestReplayNamesRefusedCredentials(t *testing.T) {
	const wrong = "not-the-pa55word"
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "shop.public.items"),
		kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-256", "projector", "the-pa55word"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	f := newFixtureWith(t, strings.Join(kc.ListenAddrs(), ","), "")
	f.startDaemon()
	f.cfg.Kafka.SASL = &config.SASL{Mechanism: config.SASLScramSHA256, Username: "projector", Password: wrong}
	env := f.openEnv()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	quick := []kgo.Opt{kgo.RequestRetries(2), kgo.RetryBackoffFn(func(int) time.Duration { return 20 * time.Millisecond })}
	_, err = Run(ctx, env, Options{View: "item_view", From: registry.SourceKafka, ReplayIdle: time.Second, Kafka: quick})
	if err == nil || !strings.Contains(err.Error(), "rejected the SASL credentials") {
		t.Fatalf("rebuild --from kafka with a wrong password: %v, want the SASL refusal named", err)
	}
	t.Logf("rebuild: %v", err)
	if strings.Contains(err.Error(), wrong) {
		t.Errorf("the error shows the password: %v", err)
	}
}
