package config

import (
	"strings"
	"testing"
	"time"
)

// TestElasticsearchRequestTimeout: two minutes unless set; under a second
// is refused at its position.
func TestElasticsearchRequestTimeout(t *testing.T) {
	doc := func(extra string) string {
		return `version: 1
kafka: { brokers: "localhost:9092" }
stores:
  postgres: { url: "postgres://x/y" }
  elasticsearch: { url: "http://localhost:9200"` + extra + ` }
sources: { orders: { topic: t.o, key: id, columns: { id: bigint } } }
views: { v: { from: orders, fields: { id: id }, sinks: { elasticsearch: {} } } }
`
	}
	c, err := Parse("p.yaml", []byte(doc("")), lookupTestEnv)
	if err != nil {
		t.Fatal(err)
	}
	if got := time.Duration(c.Stores.Elasticsearch.RequestTimeout); got != 2*time.Minute {
		t.Errorf("default request_timeout %s, want 2m", got)
	}
	c, err = Parse("p.yaml", []byte(doc(", request_timeout: 30s")), lookupTestEnv)
	if err != nil || time.Duration(c.Stores.Elasticsearch.RequestTimeout) != 30*time.Second {
		t.Errorf("request_timeout: 30s gave %v, %v", c, err)
	}
	_, err = Parse("p.yaml", []byte(doc(", request_timeout: 500ms")), lookupTestEnv)
	if err == nil || !strings.Contains(err.Error(), "p.yaml:5:67: stores.elasticsearch.request_timeout must be at least 1s") {
		t.Errorf("request_timeout: 500ms: %v, want an error at 5:67", err)
	}
}
