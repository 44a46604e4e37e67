package config

import (
	"strings"
	"testing"
)

// README (Exit codes; `validate` reports every problem): a store setting
// `run` refuses at start is a problem of the file. The Elasticsearch sink
// takes credentials written in stores.elasticsearch.url as username and
// password, and refuses them beside api_key ("set api_key or
// username/password, not both", exit 2 at `projector run`); validate
// checks api_key only against the username and password keys, so it
// passes a file `run` refuses.
func TestR27cElasticsearchURLCredentialsWithAPIKey(t *testing.T) {
	doc := `version: 1
kafka: { brokers: "localhost:9092" }
stores:
  postgres: { url: "postgres://h/db" }
  elasticsearch: { url: "https://elastic:s3cretPW@es.internal:9200", api_key: "${ES_API_KEY}" }
sources:
  orders:
    topic: shop.public.orders
    key: id
    columns: { id: bigint, status: text }
views:
  v:
    from: orders
    fields: { id: id, status: status }
    sinks: { elasticsearch: {} }
`
	lookup := func(name string) (string, bool) {
		if name == "ES_API_KEY" {
			return "a2V5OnNlY3JldA==", true
		}
		return "", false
	}
	_, err := Parse("p.yaml", []byte(doc), lookup)
	if err == nil {
		t.Fatal("validate accepts api_key with credentials in stores.elasticsearch.url, which projector run refuses (exit 2)")
	}
	if !strings.Contains(err.Error(), "p.yaml:5:") {
		t.Errorf("not reported at stores.elasticsearch (line 5):\n%v", err)
	}
	if strings.Contains(err.Error(), "s3cretPW") {
		t.Errorf("the error shows the URL's password:\n%v", err)
	}
}
