package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
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

// TestInspectColumnNumericHint: --column takes a type with a comma, as
// the flag's own help shows (numeric(10,2)), and may be repeated.
func TestInspectColumnNumericHint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "value.json")
	if err := os.WriteFile(path, []byte(`{"op":"c","after":{"id":1,"price":10.5,"rate":0.125}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runMain(t, "inspect", "--value", path, "--column", "price=numeric(10,2)", "--column", "rate=numeric(5,1)")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, `"price": "10.50"`) || !strings.Contains(out, `"rate": "0.1"`) {
		t.Errorf("price and rate not read with their scales:\n%s", out)
	}
}

// TestInspectTransactionalTopic: inspect reads what the daemon reads: a
// record of an aborted transaction is not there, and an offset holding a
// transaction marker says so at once, instead of waiting for a record.
func TestInspectTransactionalTopic(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "cqrs.public.widgets"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	create, err := os.ReadFile("../../../shared/debezium-samples/postgres/create_schemaless.value.json")
	if err != nil {
		t.Fatal(err)
	}
	txn, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.TransactionalID("connect"))
	if err != nil {
		t.Fatal(err)
	}
	defer txn.Close()
	ctx := context.Background()
	for _, commit := range []kgo.TransactionEndTry{kgo.TryAbort, kgo.TryCommit} { // offsets 0-1, then 2-3
		if err := txn.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := txn.ProduceSync(ctx, &kgo.Record{Topic: "cqrs.public.widgets", Key: []byte(`{"id":"w1"}`), Value: create}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := txn.EndTransaction(ctx, commit); err != nil {
			t.Fatal(err)
		}
	}
	brokers := strings.Join(c.ListenAddrs(), ",")
	for _, tc := range []struct {
		offset string
		code   int
		says   string
	}{
		{"0", ExitFailure, "aborted transaction"},
		{"1", ExitFailure, "transaction marker"},
		{"2", 0, `"op": "c"`},
	} {
		code, out, errs := run(t, "inspect", "--brokers", brokers, "--topic", "cqrs.public.widgets", "--partition", "0", "--offset", tc.offset)
		if code != tc.code || !strings.Contains(out+errs, tc.says) {
			t.Errorf("offset %s: exit %d %s%s, want %d saying %q", tc.offset, code, out, errs, tc.code, tc.says)
		}
	}
}

// TestInspectTopicAsItsSource: with -c, a record of a source's topic is
// decoded as run decodes it, with the source's declared columns: a
// schemaless 10.5 in a numeric(10,2) column reads "10.50". Without -c it
// is the plain JSON number.
func TestInspectTopicAsItsSource(t *testing.T) {
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
	value := `{"before":null,"after":{"id":"w1","price":10.5},"op":"c","ts_ms":1,
		"source":{"connector":"postgresql","name":"cqrs","db":"d","schema":"public","table":"widgets","lsn":100,"ts_ms":1}}`
	if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: "cqrs.public.widgets", Key: []byte(`{"id":"w1"}`), Value: []byte(value)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	brokers := strings.Join(c.ListenAddrs(), ",")
	t.Setenv("PROJECTOR_POSTGRES_URL", "postgres://localhost/x")
	file := writeConfig(t, `version: 1
kafka: { brokers: "`+brokers+`", group: g }
stores: { postgres: { url: "${PROJECTOR_POSTGRES_URL}" } }
sources:
  widgets:
    topic: cqrs.public.widgets
    key: id
    columns: { id: text, price: "numeric(10,2)" }
views:
  widget_view:
    from: widgets
    fields: { id: id, price: price }
    sinks: { postgres: {} }
`)
	price := func(args ...string) any {
		t.Helper()
		code, out, errs := run(t, append([]string{"inspect", "--topic", "cqrs.public.widgets", "--offset", "0"}, args...)...)
		if code != ExitOK {
			t.Fatalf("inspect %v: exit %d: %s", args, code, errs)
		}
		var got struct {
			After map[string]any `json:"after"`
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return got.After["price"]
	}
	if got := price("-c", file); got != "10.50" {
		t.Errorf("with -c: price %#v, want \"10.50\" (the source's numeric(10,2))", got)
	}
	if got := price("--brokers", brokers); got != 10.5 {
		t.Errorf("without -c: price %#v, want 10.5", got)
	}
}
