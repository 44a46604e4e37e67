package query_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
)

// TestReview8QueryCursorIsAPasswordOracle: without PROJECTOR_API_CURSOR_KEY,
// `projector query` signs its cursors with a key derived from the whole
// stores.postgres.url, password included (internal/cli/query.go:107-110:
// key = "projector query: " + URL). Every printed --cursor therefore
// carries HMAC-SHA256(SHA-256(prefix+URL), payload) next to its plaintext
// payload: whoever sees one cursor (a shell history, a ticket, a CI log)
// and knows the user, host and database (no secrets) can test password
// guesses offline at hash speed. Rule: secrets never reach output, not
// even as a verifier.
func TestReview8QueryCursorIsAPasswordOracle(t *testing.T) {
	t.Setenv("PROJECTOR_API_CURSOR_KEY", "")
	s := newShop(t, shopOptions{})
	fill(s)
	const password = "Summer2024!" // the test server trusts any password
	orig := s.cfg.Stores.Postgres.URL
	u, err := url.Parse(orig)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), password)
	s.yaml = strings.Replace(s.yaml, orig, u.String(), 1)

	code, _, errOut := projectorCLI(t, s, "query", "orders", "--sort", "total", "--limit", "2", "-o", "table")
	i := strings.Index(errOut, "--cursor ")
	if code != 0 || i < 0 {
		t.Fatalf("query: exit %d, no cursor:\n%s", code, errOut)
	}
	cursor := strings.Fields(errOut[i+len("--cursor "):])[0]
	p, m, _ := strings.Cut(cursor, ".")
	payload, err1 := base64.RawURLEncoding.DecodeString(p)
	mac, err2 := base64.RawURLEncoding.DecodeString(m)
	if err1 != nil || err2 != nil {
		t.Fatalf("cursor %q does not decode", cursor)
	}
	// An attacker's offline dictionary attack, with the public parts of the URL.
	for _, guess := range []string{"postgres", "password", "123456", "letmein", "Summer2024!", "Winter2025!"} {
		g := *u
		g.User = url.UserPassword(u.User.Username(), guess)
		key := sha256.Sum256([]byte("projector query: " + g.String()))
		h := hmac.New(sha256.New, key[:])
		h.Write(payload)
		if bytes.Equal(h.Sum(nil)[:len(mac)], mac) {
			t.Errorf("the cursor printed by projector query confirms the PostgreSQL password offline: recovered %q", guess)
		}
	}
}
