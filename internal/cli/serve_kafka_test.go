package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestServeWarnsPlainKafka: the query server reads end offsets with the
// daemon's Kafka credentials, so it warns as the daemon does when
// SASL/PLAIN sends the password without TLS, and never prints it.
func TestServeWarnsPlainKafka(t *testing.T) {
	_, pgURL := testenv.Postgres(t)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "cqrs.public.widgets"),
		kfake.EnableSASL(), kfake.Superuser("PLAIN", "projector", "serve-secret-pw"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := filepath.Join(t.TempDir(), "projector.yaml")
	yaml := `version: 1
kafka:
  brokers: "` + strings.Join(c.ListenAddrs(), ",") + `"
  sasl: { mechanism: plain, username: projector, password: "${KAFKA_PASSWORD}" }
stores:
  postgres: { url: "` + pgURL + `" }
admin: { listen: "127.0.0.1:0" }
sources:
  widgets: { topic: cqrs.public.widgets, key: id, columns: { id: text } }
views:
  widget_view:
    from: widgets
    fields: { id: id }
    sinks:
      postgres: { table: widget_view }
`
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KAFKA_PASSWORD", "serve-secret-pw")
	var out, logs testenv.Logs
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- Main(ctx, []string{"serve", "-c", cfg, "--listen", "127.0.0.1:0"}, &out, &logs) }()
	deadline := time.After(30 * time.Second)
	for !strings.Contains(logs.String(), "query api") {
		select {
		case code := <-done:
			cancel()
			t.Fatalf("serve exited %d:\n%s", code, logs.String())
		case <-deadline:
			cancel()
			t.Fatalf("serve did not start in 30s:\n%s", logs.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	<-done
	if n := strings.Count(logs.String(), "clear text"); n != 1 {
		t.Errorf("%d clear-text warnings, want 1:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String()+out.String(), "serve-secret-pw") {
		t.Errorf("the password is in the output:\n%s", logs.String())
	}
}
