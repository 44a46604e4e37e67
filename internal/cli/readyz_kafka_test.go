package cli

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/projectorhq/projector/internal/kafkautil/kafkatest"
	"github.com/projectorhq/projector/internal/testenv"
)

// TestReadyzAfterKafkaRefusesAJoinedMember: a daemon that joined its group
// and then can no longer authenticate (credentials revoked or rotated,
// every reconnect refused in SASL) is not ready, and /readyz says why.
func TestReadyzAfterKafkaRefusesAJoinedMember(t *testing.T) {
	_, url := testenv.Postgres(t)
	pki := kafkatest.NewPKI(t)
	var ln *kafkatest.CutListener
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "cqrs.public.widgets"),
		kfake.TLS(pki.ServerTLS(false)), kfake.EnableSASL(), kfake.Superuser("PLAIN", "projector", scramPassword),
		kafkatest.Listen(&ln))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	t.Setenv("PROJECTOR_POSTGRES_URL", url)
	t.Setenv("KAFKA_USERNAME", "projector")
	t.Setenv("KAFKA_PASSWORD", scramPassword)
	d := startDaemon(t, writeConfig(t, securedYAML(c.ListenAddrs(), pki.CA, "plain")))
	defer d.cancel()
	d.readyz(t, http.StatusOK, `"ready"`)

	// From now on the brokers refuse the credentials, and every
	// connection has to be set up again.
	c.ControlKey(int16(kmsg.SASLAuthenticate), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		return nil, errors.New("credentials revoked"), true
	})
	ln.Cut()

	deadline := time.Now().Add(45 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(d.logs.String(), "rejected the SASL credentials") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(d.logs.String(), "rejected the SASL credentials") {
		t.Fatalf("the Health hook never saw the SASL failure:\n%s", d.logs)
	}
	// Give franz-go time to give up the group session (onLost).
	for time.Now().Before(deadline) {
		if strings.Contains(d.logs.String(), "group manage loop errored") || strings.Contains(d.logs.String(), "heartbeat errored") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	m := adminAddr.FindStringSubmatch(d.logs.String())
	resp, err := http.Get(m[1] + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var body strings.Builder
	buf := make([]byte, 4096)
	n, _ := resp.Body.Read(buf)
	body.Write(buf[:n])
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Errorf("/readyz = 200 %s while every connection to Kafka is refused in SASL (log:\n%s)", body.String(), tail(d.logs.String()))
	}
}

func tail(s string) string {
	lines := strings.Split(s, "\n")
	if len(lines) > 25 {
		lines = lines[len(lines)-25:]
	}
	return strings.Join(lines, "\n")
}
