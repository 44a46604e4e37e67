package elasticsearch

import (
	"errors"
	"strings"
	"testing"
)

// TestR13NewKeepsPasswordOutOfOpaqueHTTPURL: the fix for a schemeless URL
// (sink.go New: "Not echoed: without "//", user:password@host parses as
// scheme "user" and an opaque rest holding the password") misses the same
// typo with the scheme kept: "http:elastic:pw@host:9200" (no "//") parses
// as scheme http with Host "" and the credentials in url.URL.Opaque, so
// the u.Host == "" case prints redact(u), which only clears User.
func TestR13NewKeepsPasswordOutOfOpaqueHTTPURL(t *testing.T) {
	const password = "hunter2"
	for _, raw := range []string{
		"http:elastic:" + password + "@localhost:9200",
		"https:elastic:" + password + "@es.internal:9243",
	} {
		_, err := New(Config{URL: raw}, []View{{Name: "v"}})
		if !errors.Is(err, ErrConfig) {
			t.Fatalf("%s: New error = %v, want ErrConfig", raw, err)
		}
		if strings.Contains(err.Error(), password) {
			t.Errorf("New error %q shows the password", err)
		}
	}
}
