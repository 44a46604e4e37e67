package config

import (
	"strings"
	"testing"
)

// TestR28iEmptyExtensionValue: an OAUTHBEARER extension's value is one or
// more characters (Kafka's OAuthBearerClientInitialResponse: value =
// [\x21-\x7E \t\r\n]+), so a broker refuses the whole sign-in when one is
// empty. An extension left empty, typically `${VAR}` set to "", should be
// refused by validate at the key's file:line:col, as an empty client_id
// is, not pass validation and fail every sign-in at run time.
func TestR28iEmptyExtensionValue(t *testing.T) {
	kafka := `  tls: {}
  sasl:
    mechanism: oauthbearer
    token_url: https://idp.example/oauth2/token
    client_id: projector
    client_secret: s
    extensions:
      logicalCluster: lkc-1
      identityPoolId: "${EMPTY}"`
	_, err := Parse("test.yaml", []byte(kafkaYAML(kafka)), lookupTestEnv)
	if err == nil {
		t.Fatal("an empty extension value passes validation; want an error at test.yaml:12:7 (kafka.sasl.extensions.identityPoolId)")
	}
	if !strings.Contains(err.Error(), "test.yaml:12:7") || !strings.Contains(err.Error(), "identityPoolId") {
		t.Errorf("errors:\n%v\nwant one at test.yaml:12:7 naming kafka.sasl.extensions.identityPoolId", err)
	}
}
