package config

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
)

// saslMechanisms are the values kafka.sasl.mechanism accepts.
var saslMechanisms = []string{SASLPlain, SASLScramSHA256, SASLScramSHA512, SASLAWSMSKIAM, SASLOAuthBearer}

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

// kafkaSASL checks the mechanism and that it has the settings it needs,
// and no other mechanism's. A secret is never shown: a message says only
// that it is missing.
func (v *validator) kafkaSASL(s *SASL) {
	if s == nil || !v.usable(s) {
		return
	}
	const all = "plain, scram-sha-256, scram-sha-512, aws_msk_iam or oauthbearer"
	switch {
	case !v.usable(&s.Mechanism):
		return
	case s.Mechanism == "":
		v.add(v.at(&s.Mechanism, s.Pos), "kafka.sasl.mechanism is required: "+all)
	case !slices.Contains(saslMechanisms, s.Mechanism):
		v.add(v.at(&s.Mechanism), "kafka.sasl.mechanism must be one of "+all+", got %s", v.show(&s.Mechanism))
	}
	if !slices.Contains(saslMechanisms, s.Mechanism) {
		if s.Username != "" || s.Password != "" {
			v.saslPassword(s) // a password mechanism is meant: report its other problems too
		}
		return
	}
	password := s.Mechanism == SASLPlain || s.Mechanism == SASLScramSHA256 || s.Mechanism == SASLScramSHA512
	oauth := s.Mechanism == SASLOAuthBearer
	for _, f := range []struct {
		name  string
		ptr   any
		set   bool
		takes bool
	}{
		{"username", &s.Username, s.Username != "", password},
		{"password", &s.Password, s.Password != "", password},
		{"token_url", &s.TokenURL, s.TokenURL != "", oauth},
		{"client_id", &s.ClientID, s.ClientID != "", oauth},
		{"client_secret", &s.ClientSecret, s.ClientSecret != "", oauth},
		{"scope", &s.Scope, s.Scope != "", oauth},
		{"extensions", &s.Extensions, len(s.Extensions) > 0, oauth},
	} {
		if f.set && !f.takes {
			v.add(v.at(f.ptr, s.Pos), "kafka.sasl.%s does not go with mechanism %s", f.name, s.Mechanism)
		}
	}
	switch {
	case password:
		v.saslPassword(s)
	case oauth:
		v.saslOAuth(s)
	}
}

// saslPassword checks that plain's and scram's credentials come in pairs.
func (v *validator) saslPassword(s *SASL) {
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

// saslOAuth checks oauthbearer's client: its token endpoint takes the
// client secret, so it must be https but on the machine itself.
func (v *validator) saslOAuth(s *SASL) {
	for _, f := range []struct {
		name string
		ptr  any
		set  bool
	}{
		{"token_url", &s.TokenURL, s.TokenURL != ""},
		{"client_id", &s.ClientID, s.ClientID != ""},
		{"client_secret", &s.ClientSecret, s.ClientSecret != ""},
	} {
		if v.usable(f.ptr) && !f.set {
			v.add(v.at(f.ptr, s.Pos), "kafka.sasl.mechanism oauthbearer needs kafka.sasl.%s (empty or missing)", f.name)
		}
	}
	for i := range s.Extensions {
		e := &s.Extensions[i]
		// RFC 7628 3.1: a key is letters, and auth is the token's; a value
		// is printable ASCII (its separator is \x01).
		switch {
		case e.Key == "auth" || strings.Trim(e.Key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" || e.Key == "":
			v.add(e.KeyPos, "kafka.sasl.extensions: %q is no extension name (letters only, not auth)", e.Key)
		case e.Value == "" && v.usable(&e.Value):
			v.add(e.KeyPos, "kafka.sasl.extensions.%s is empty (a SASL extension needs a value)", e.Key)
		case strings.ContainsFunc(e.Value, func(r rune) bool { return (r < 0x20 || r > 0x7e) && r != '\t' && r != '\r' && r != '\n' }):
			v.add(e.KeyPos, "kafka.sasl.extensions.%s holds a character other than printable ASCII", e.Key)
		}
	}
	if s.TokenURL == "" || !v.usable(&s.TokenURL) || !v.checkURL(&s.TokenURL, "kafka.sasl.token_url", true, "https", "http") {
		return
	}
	if u, err := url.Parse(s.TokenURL); err == nil && u.Scheme == "http" && !loopback(u.Hostname()) {
		v.add(v.at(&s.TokenURL), "kafka.sasl.token_url must be https: the client secret is sent to it (http only to this machine)")
	}
}

// loopback reports whether host names this machine.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
