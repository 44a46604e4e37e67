package elasticsearch

import (
	"strings"
	"testing"
)

// TestAPIErrorKindNamesNothingOfTheCluster: an answer's kind is its status
// and type, which readiness shows; its reason, which names the user, an
// API key's id or a node, stays in its text for the log. 401 and 403 are
// refusals of projector's requests, other answers are not.
func TestAPIErrorKindNamesNothingOfTheCluster(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  int
		body    string
		kind    string
		refused bool
		reason  string
	}{
		{"a user not authenticated", 401,
			`{"error":{"root_cause":[{"type":"security_exception","reason":"unable to authenticate user [orders_writer] for REST request [/_bulk]"}],"type":"security_exception","reason":"unable to authenticate user [orders_writer] for REST request [/_bulk]"},"status":401}`,
			"401 security_exception", true, "orders_writer"},
		{"an API key without the privilege", 403,
			`{"error":{"type":"security_exception","reason":"action [indices:data/write/bulk] is unauthorized for API key id [VuaCfGcBCdbkQm-e5aOx] of user [orders_writer]"},"status":403}`,
			"403 security_exception", true, "VuaCfGcBCdbkQm-e5aOx"},
		{"a proxy's page", 403, `<html><body>403 Forbidden by gw-1.prod.internal</body></html>`,
			"403 Forbidden", true, "gw-1.prod.internal"},
		{"an envelope without a type", 401, `{"error":{"reason":"no credentials for es-1.prod.internal"},"status":401}`,
			"401 Unauthorized", true, "es-1.prod.internal"},
		{"a node gone", 503,
			`{"error":{"type":"node_disconnected_exception","reason":"[es-data-2][10.1.2.3:9300][indices:data/write/bulk[s]] disconnected"},"status":503}`,
			"503 node_disconnected_exception", false, "10.1.2.3:9300"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ae := parseAPIError(tc.status, []byte(tc.body))
			if got := ae.Kind(); got != tc.kind {
				t.Errorf("Kind = %q, want %q", got, tc.kind)
			}
			if ae.Refused() != tc.refused {
				t.Errorf("Refused = %v, want %v", ae.Refused(), tc.refused)
			}
			if !strings.Contains(ae.Error(), tc.reason) || !strings.Contains(ae.Error(), tc.kind) {
				t.Errorf("the log's text %q lost the kind %q or the reason's %q", ae.Error(), tc.kind, tc.reason)
			}
		})
	}
}
