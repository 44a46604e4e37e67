package cli

import (
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/internal/kafkautil/kafkatest"
	"github.com/projectorhq/projector/internal/testenv"
)

// TestR37bReadyzNamesNoHostOnTLSFailure: README, Operations, /readyz: a
// store that does not answer is named "by the kind of failure only,
// `connection refused`, `timed out`…: the role, database, host and port
// are in the log, not on the unauthenticated admin port"
// (projector.PublicCause; review 33c extended it to Kafka's brokers).
//
// A TLS failure is not recognised as a connection failure: PublicCause
// passes crypto/tls's text through whole, and that text names hosts —
// the host of the URL or of kafka.tls.server_name, and every name of the
// server's certificate ("x509: certificate is valid for
// es-1.prod.internal, *.prod.internal, not 10.1.2.3"). Anyone who can reach
// the admin port (":9464" in every container setup) learns the internal
// names of the brokers and of Elasticsearch.
func TestR37bReadyzNamesNoHostOnTLSFailure(t *testing.T) {
	_, url := testenv.Postgres(t)
	t.Run("kafka", func(t *testing.T) {
		const serverName = "kafka-1.r37b-prod.internal"
		pki := kafkatest.NewPKI(t) // its broker certificate names localhost
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "cqrs.public.widgets"), kfake.TLS(pki.ServerTLS(false)))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		d := startDaemon(t, widgetsConfig(t, fmt.Sprintf(`kafka:
  brokers: %q
  group: r37b-tls-name
  tls: { ca_cert: %q, server_name: %s }
stores: { postgres: { url: %q } }
admin: { listen: "127.0.0.1:0" }`, strings.Join(c.ListenAddrs(), ","), pki.CA, serverName, url), `{ postgres: {} }`))
		defer d.cancel()
		body := d.readyz(t, http.StatusServiceUnavailable, "not yet assigned partitions: ")
		for _, host := range []string{serverName, "localhost"} {
			if strings.Contains(body, host) {
				t.Errorf("/readyz, unauthenticated, names the brokers' host %q: %s", host, strings.TrimSpace(body))
			}
		}
	})
	t.Run("elasticsearch", func(t *testing.T) {
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "cqrs.public.widgets"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		es := httptest.NewUnstartedServer(http.NotFoundHandler()) // its certificate names example.com and 127.0.0.1
		es.Config.ErrorLog = log.New(io.Discard, "", 0)           // the refused handshakes
		es.StartTLS()
		defer es.Close()
		ca := filepath.Join(t.TempDir(), "ca.pem")
		if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: es.Certificate().Raw}), 0o600); err != nil {
			t.Fatal(err)
		}
		port := es.URL[strings.LastIndex(es.URL, ":")+1:]
		d := startDaemon(t, widgetsConfig(t, fmt.Sprintf(`kafka: { brokers: %q, group: r37b-es-tls-name }
stores:
  postgres: { url: %q }
  elasticsearch: { url: "https://localhost:%s", ca_cert: %q }
admin: { listen: "127.0.0.1:0" }`, strings.Join(c.ListenAddrs(), ","), url, port, ca), `{ postgres: {}, elasticsearch: {} }`))
		defer d.cancel()
		body := d.readyz(t, http.StatusServiceUnavailable, `"elasticsearch"`)
		for _, host := range []string{"localhost", "example.com"} {
			if strings.Contains(body, host) {
				t.Errorf("/readyz, unauthenticated, names Elasticsearch's host %q: %s", host, strings.TrimSpace(body))
			}
		}
	})
}

// TestR37bReadyzNamesNoRegistryAddress: the schema registry refusing
// projector's credentials (HTTP 401) is retried as an outage, and /readyz
// says the engine cannot apply the batch — quoting the registry's base
// URL, host and port, which stack.schemaRegistry.SchemaByID writes into
// the error ("schema id 1: https://host:port answered 401 …") and
// projector.PublicCause passes on whole. The same for a 404 without the
// registry's error code. README (Operations) keeps the host and port of
// what does not answer to the log, off the unauthenticated admin port.
func TestR37bReadyzNamesNoRegistryAddress(t *testing.T) {
	_, url := testenv.Postgres(t)
	var asked atomic.Int64
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		asked.Add(1)
		w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error_code":401,"message":"Unauthorized"}`))
	}))
	defer reg.Close()
	regAddr := strings.TrimPrefix(reg.URL, "http://")
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
	// An Avro record in Confluent's framing: schema id 1, which only the
	// registry can give.
	if err := cl.ProduceSync(t.Context(), &kgo.Record{Topic: "cqrs.public.widgets",
		Value: []byte{0, 0, 0, 0, 1, 2, 'x'}}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	p := writeConfig(t, fmt.Sprintf(`version: 1
kafka:
  brokers: %q
  group: r37b-registry
  schema_registry: { url: %q }
stores: { postgres: { url: %q } }
admin: { listen: "127.0.0.1:0" }
sources:
  widgets:
    topic: cqrs.public.widgets
    format: avro
    key: id
    columns: { id: text, name: text }
views:
  widget_view:
    from: widgets
    fields: { id: id, name: name }
    sinks: { postgres: {} }
`, strings.Join(c.ListenAddrs(), ","), reg.URL, url))
	d := startDaemon(t, p)
	defer d.cancel()
	body := d.readyz(t, http.StatusServiceUnavailable, `"engine"`)
	if asked.Load() == 0 {
		t.Fatalf("premise: the registry was never asked; /readyz = %s", body)
	}
	if strings.Contains(body, regAddr) {
		t.Errorf("/readyz, unauthenticated, names the schema registry's host and port %s: %s", regAddr, strings.TrimSpace(body))
	}
}
