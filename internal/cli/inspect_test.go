package cli

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestInspectTopic reads one record by topic, partition and offset from a
// Kafka cluster (kfake speaks the real protocol) and decodes it.
func TestInspectTopic(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "cqrs.public.widgets"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	create, err := os.ReadFile("../../../shared/debezium-samples/postgres/create_schemaless.value.json")
	if err != nil {
		t.Fatal(err)
	}
	update, err := os.ReadFile("../../../shared/debezium-samples/postgres/update_default_identity_schemaless.value.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(context.Background(),
		&kgo.Record{Topic: "cqrs.public.widgets", Key: []byte(`{"id":"w1"}`), Value: create},
		&kgo.Record{Topic: "cqrs.public.widgets", Key: []byte(`{"id":"w1"}`), Value: update},
	).FirstErr(); err != nil {
		t.Fatal(err)
	}
	brokers := strings.Join(c.ListenAddrs(), ",")
	code, out, errs := run(t, "inspect", "--brokers", brokers, "--topic", "cqrs.public.widgets", "--partition", "0", "--offset", "1")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got struct {
		Op    string         `json:"op"`
		Key   map[string]any `json:"key"`
		After map[string]any `json:"after"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.Op != "u" || got.After["name"] != "gadget2" || got.Key["id"] != "w1" {
		t.Errorf("inspect offset 1 = %s; want the update of w1", out)
	}
	if code, _, _ := run(t, "inspect", "--brokers", brokers, "--topic", "cqrs.public.widgets"); code != ExitUsage {
		t.Errorf("--topic without --offset: exit %d, want %d", code, ExitUsage)
	}
	code, _, errs = run(t, "inspect", "--brokers", brokers, "--topic", "cqrs.public.widgets", "--partition", "-1", "--offset", "0")
	if code != ExitUsage || !strings.Contains(errs, "--partition must be 0 or more") {
		t.Errorf("--partition -1: exit %d %q, want %d and what is wrong", code, errs, ExitUsage)
	}
}
