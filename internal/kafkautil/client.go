package kafkautil

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/projectorhq/projector/config"
)

// ClientOpts returns the options every Kafka client of projector starts
// from: the seed brokers, and TLS and SASL as kafka.tls and kafka.sasl
// say. Callers append their own (group, client id, partitioner); one
// place decides how projector reaches Kafka, so that no client is left
// speaking plaintext to a broker that wants TLS.
func ClientOpts(k config.Kafka) ([]kgo.Opt, error) {
	opts := []kgo.Opt{kgo.SeedBrokers(k.Brokers...)}
	if k.TLS.On() {
		tc, err := TLSConfig(k.TLS, "kafka.tls")
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	if k.SASL != nil {
		m, err := mechanism(k.SASL)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.SASL(m))
	}
	return opts, nil
}

// TLSConfig builds the client side of a tls block, which label names in
// errors (kafka.tls, kafka.schema_registry.tls). franz-go and net/http
// set the server name from the host they dial when ServerName is empty.
func TLSConfig(t *config.TLS, label string) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CACert != "" {
		data, err := os.ReadFile(t.CACert)
		if err != nil {
			return nil, fmt.Errorf("%w: %s.ca_cert: %w", ErrSecurity, label, err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(data) {
			return nil, fmt.Errorf("%w: %s.ca_cert %s holds no PEM certificate", ErrSecurity, label, t.CACert)
		}
	}
	if t.Cert != "" {
		pair, err := tls.LoadX509KeyPair(t.Cert, t.Key)
		if err != nil {
			return nil, fmt.Errorf("%w: %s.cert and key: %w", ErrSecurity, label, err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	return tc, nil
}

// mechanism is the franz-go SASL mechanism of kafka.sasl.
func mechanism(s *config.SASL) (sasl.Mechanism, error) {
	user, pass := s.Username, string(s.Password)
	switch s.Mechanism {
	case config.SASLPlain:
		return plain.Auth{User: user, Pass: pass}.AsMechanism(), nil
	case config.SASLScramSHA256:
		return scram.Auth{User: user, Pass: pass}.AsSha256Mechanism(), nil
	case config.SASLScramSHA512:
		return scram.Auth{User: user, Pass: pass}.AsSha512Mechanism(), nil
	case config.SASLAWSMSKIAM:
		return mskIAM()
	case config.SASLOAuthBearer:
		return oauthBearer(s), nil
	}
	// Validation rejects it; a Config built in code may still hold one.
	return nil, fmt.Errorf("%w: unknown kafka.sasl.mechanism %q", ErrSecurity, s.Mechanism)
}

// Warnings are what is risky, though allowed, in the security settings,
// for the daemon to log once at start.
func Warnings(k config.Kafka) []string {
	if k.SASL == nil || k.TLS.On() {
		return nil
	}
	switch k.SASL.Mechanism {
	case config.SASLPlain:
		return []string{"kafka.sasl.mechanism plain without kafka.tls sends the Kafka password in clear text: " +
			"anyone on the network path can read it; add kafka.tls unless this network is trusted"}
	case config.SASLOAuthBearer:
		return []string{"kafka.sasl.mechanism oauthbearer without kafka.tls sends the bearer token in clear text: " +
			"anyone on the network path can use it until it expires; add kafka.tls unless this network is trusted"}
	case config.SASLAWSMSKIAM:
		return []string{"kafka.sasl.mechanism aws_msk_iam without kafka.tls: Amazon MSK takes IAM sign-ins on its TLS listener only (port 9098); add kafka.tls"}
	}
	return nil
}
