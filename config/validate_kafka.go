package config

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"net/url"
	"os"
	"slices"
)

// saslMechanisms are the values kafka.sasl.mechanism accepts.
var saslMechanisms = []string{SASLPlain, SASLScramSHA256, SASLScramSHA512}

// tlsSettings checks a tls block (kafka.tls, kafka.schema_registry.tls,
// named by label), reading the PEM files now: a path that is wrong should
// fail `projector validate`, not the first connection. With enabled:
// false nothing is used, so nothing is checked.
func (v *validator) tlsSettings(t *TLS, label string) {
	if t == nil || !v.usable(t) || !t.Enabled {
		return
	}
	if t.CACert != "" && v.usable(&t.CACert) {
		if data, ok := v.readPEM(&t.CACert, label+".ca_cert"); ok && !x509.NewCertPool().AppendCertsFromPEM(data) {
			v.add(v.at(&t.CACert), "%s.ca_cert: %s holds no PEM certificate", label, v.show(&t.CACert))
		}
	}
	if !v.usable(&t.Cert) || !v.usable(&t.Key) {
		return
	}
	switch {
	case t.Cert != "" && t.Key == "":
		v.add(v.at(&t.Cert), "%s.cert needs %s.key, the client certificate's private key", label, label)
	case t.Key != "" && t.Cert == "":
		v.add(v.at(&t.Key), "%s.key needs %s.cert, the client certificate", label, label)
	case t.Cert != "":
		v.keyPair(t, label)
	}
}

// keyPair checks the client certificate, then that the key is its own.
func (v *validator) keyPair(t *TLS, label string) {
	cert, certOK := v.readPEM(&t.Cert, label+".cert")
	key, keyOK := v.readPEM(&t.Key, label+".key")
	if !certOK || !keyOK {
		return
	}
	if !holdsCertificate(cert) {
		v.add(v.at(&t.Cert), "%s.cert: %s holds no valid PEM certificate", label, v.show(&t.Cert))
		return
	}
	// The error names what is wrong (no key, not a key, not this
	// certificate's key) and never the key's bytes.
	if _, err := tls.X509KeyPair(cert, key); err != nil {
		v.add(v.at(&t.Key), "%s.key: %s is not the private key of %s.cert (%v)", label, v.show(&t.Key), label, err)
	}
}

// holdsCertificate reports whether data has a PEM certificate and every
// certificate in it parses.
func holdsCertificate(data []byte) bool {
	found := false
	for {
		var block *pem.Block
		if block, data = pem.Decode(data); block == nil {
			return found
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return false
		}
		found = true
	}
}

// readPEM reads the file *path names, reporting at the value why it
// cannot. The path is shown as written (hidden when it came from the
// environment); the reason never quotes the file.
func (v *validator) readPEM(path *string, label string) ([]byte, bool) {
	data, err := os.ReadFile(*path)
	if err == nil {
		return data, true
	}
	reason := err
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		reason = pe.Err // the path is shown already, or must not be
	}
	v.add(v.at(path), "%s: cannot read %s: %v", label, v.show(path), reason)
	return nil, false
}

// schemaRegistry checks the registry's URL and, when it speaks HTTPS, its
// TLS settings. Credentials may be in the URL; the URL is never shown.
func (v *validator) schemaRegistry(r *SchemaRegistry) {
	if !v.usable(r) {
		return
	}
	switch {
	case !v.usable(&r.URL):
	case r.URL == "":
		if r.TLS != nil {
			v.add(r.TLS.Pos, "kafka.schema_registry.tls needs kafka.schema_registry.url")
		}
	case !v.checkURL(&r.URL, "kafka.schema_registry.url", true, "http", "https"):
	case r.TLS.On() && !isHTTPS(r.URL):
		v.add(r.TLS.Pos, "kafka.schema_registry.tls needs an https:// kafka.schema_registry.url")
	default:
		v.tlsSettings(r.TLS, "kafka.schema_registry.tls")
	}
}

// isHTTPS reports whether raw, a URL checkURL accepted, is https.
func isHTTPS(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Scheme == "https"
}

// kafkaSASL checks the mechanism and that the credentials come in pairs.
// The password is never shown: a message says only that it is missing.
func (v *validator) kafkaSASL(s *SASL) {
	if s == nil || !v.usable(s) {
		return
	}
	switch {
	case !v.usable(&s.Mechanism):
	case s.Mechanism == "":
		v.add(v.at(&s.Mechanism, s.Pos), "kafka.sasl.mechanism is required: plain, scram-sha-256 or scram-sha-512")
	case !slices.Contains(saslMechanisms, s.Mechanism):
		v.add(v.at(&s.Mechanism), "kafka.sasl.mechanism must be one of plain, scram-sha-256, scram-sha-512, got %s", v.show(&s.Mechanism))
	}
	if !v.usable(&s.Username) || !v.usable(&s.Password) {
		return // unset variable or wrong kind: reported already
	}
	switch {
	case s.Username == "" && s.Password == "":
		v.add(s.Pos, "kafka.sasl needs username and password")
	case s.Password == "":
		v.add(v.at(&s.Password, v.at(&s.Username)), "kafka.sasl.username needs kafka.sasl.password (empty or missing)")
	case s.Username == "":
		v.add(v.at(&s.Username, v.at(&s.Password)), "kafka.sasl.password needs kafka.sasl.username (empty or missing)")
	}
}
