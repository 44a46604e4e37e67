package cli

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestInspectTopicWithShopConfigNeedsNoStoreURL: `projector inspect --topic`
// takes TLS, SASL, the schema registry and a source's columns from -c, and
// never touches a store. Pointed at the example shop's configuration from the
// host (the docker compose stack's Kafka on localhost:29092), it must decode
// the record without the query PostgreSQL's URL in the environment, as
// `validate --offline` does.
func TestInspectTopicWithShopConfigNeedsNoStoreURL(t *testing.T) {
	t.Setenv("PROJECTOR_POSTGRES_URL", "")
	os.Unsetenv("PROJECTOR_POSTGRES_URL") // restored by t.Setenv's cleanup

	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "shop.public.orders"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	value := `{"before":null,"after":{"id":1001,"user_id":"665f1a2b3c4d5e6f70000001","status":"paid","total_amount":"338.90","created_at":1746349920000000},` +
		`"source":{"connector":"postgresql","name":"shop","db":"shop","schema":"public","table":"orders","lsn":24023984,"ts_ms":1762000000000},"op":"c","ts_ms":1762000000100}`
	if err := cl.ProduceSync(context.Background(),
		&kgo.Record{Topic: "shop.public.orders", Key: []byte(`{"id":1001}`), Value: []byte(value)},
	).FirstErr(); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run(t, "inspect", "-c", "../../examples/shop/projector.yaml",
		"--brokers", strings.Join(c.ListenAddrs(), ","), "--topic", "shop.public.orders", "--partition", "0", "--offset", "0")
	if code != ExitOK {
		t.Fatalf("inspect -c examples/shop/projector.yaml --topic …: exit %d, want %d (it uses no store)\nstdout: %s\nstderr: %s", code, ExitOK, out, errs)
	}
	if !strings.Contains(out, `"total_amount": "338.90"`) {
		t.Errorf("the record was not decoded with the source's columns:\n%s", out)
	}
}
