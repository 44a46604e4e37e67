package kafkautil

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// TestTokenCache: a token is kept while its expiry, from expires_in or,
// without it, from a JWT's exp claim, is more than the margin away; one
// that says neither, or is about to expire, is fetched again at the next
// sign-in rather than presented once expired.
func TestTokenCache(t *testing.T) {
	jwt := func(exp time.Time) string {
		enc := base64.RawURLEncoding.EncodeToString
		return enc([]byte(`{"alg":"RS256"}`)) + "." + enc(fmt.Appendf(nil, `{"sub":"projector","exp":%d}`, exp.Unix())) + ".c2ln"
	}
	tests := []struct {
		name   string
		body   string // the endpoint's answer
		grants int    // after two sign-ins
	}{
		{"expires_in", `{"access_token":"opaque","token_type":"bearer","expires_in":3600}`, 1},
		{"JWT exp, no expires_in", fmt.Sprintf(`{"access_token":%q,"token_type":"bearer"}`, jwt(time.Now().Add(time.Hour))), 1},
		{"JWT about to expire", fmt.Sprintf(`{"access_token":%q,"token_type":"bearer"}`, jwt(time.Now().Add(10*time.Second))), 2},
		{"opaque, no expires_in", `{"access_token":"opaque","token_type":"bearer"}`, 2},
		{"expires_in short", `{"access_token":"opaque","token_type":"bearer","expires_in":5}`, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var grants atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				grants.Add(1)
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()
			cc := clientcredentials.Config{ClientID: "projector", ClientSecret: "s", TokenURL: srv.URL}
			c := &tokenCache{fetch: func() (*oauth2.Token, error) { return cc.Token(t.Context()) }}
			for range 2 {
				if _, err := c.Token(); err != nil {
					t.Fatal(err)
				}
			}
			if got := int(grants.Load()); got != tt.grants {
				t.Errorf("grants after two sign-ins: %d, want %d", got, tt.grants)
			}
		})
	}
}
