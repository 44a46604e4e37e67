package query

import (
	"strings"
	"testing"
)

// TestTokenErrorsDoNotQuoteTokens: a PROJECTOR_API_TOKENS entry
// written the wrong way round (views first) or with a ':' in the token is
// refused, but the message must not print the token: it is a credential
// and the error goes to stderr and the process logs.
func TestTokenErrorsDoNotQuoteTokens(t *testing.T) {
	views := map[string]*view{"order_view": {}, "user_order_stats": {}}
	for _, tc := range []struct{ spec, secret string }{
		{"user_order_stats:Zk3pQ9vT7mW2xR8nB4", "Zk3pQ9vT7mW2xR8nB4"},
		{"Zk3pQ9vT7mW2xR8nB4:yL6cA1:order_view", "yL6cA1"},
	} {
		_, err := parseTokens(tc.spec, views)
		if err == nil {
			t.Fatalf("%q: accepted", tc.spec)
		}
		if strings.Contains(err.Error(), tc.secret) {
			t.Errorf("the error shows the token: %v", err)
		}
	}
}
