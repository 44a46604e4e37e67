package cli

import (
	"errors"
	"net/http"
	"testing"

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

	d.readyz(t, http.StatusServiceUnavailable, "SASL credentials")
}
