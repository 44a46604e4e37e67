package config

import (
	"testing"
)

// r17Merged disables one sink of a shared set with an explicit `~` over a
// merge key: YAML's null, which the file always read as "no such sink".
const r17Merged = `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://h/db" }, elasticsearch: { url: "http://h:9200" } }
sources:
  orders:
    topic: shop.public.orders
    key: id
    columns: { id: bigint, status: text }
views:
  a:
    from: orders
    fields: { id: id, status: status }
    sinks: &both { postgres: {}, elasticsearch: {} }
  v:
    from: orders
    fields: { id: id, status: status }
    sinks: { <<: *both, postgres: ~ }
`

// TestR17ExplicitNullSinkStaysDisabled: `postgres: ~` (or `postgres:
// null`) written on purpose, here to drop the shared set's PostgreSQL sink,
// must leave the view without that sink. Since null sinks get their
// defaults, it silently creates a PostgreSQL table the user turned off.
func TestR17ExplicitNullSinkStaysDisabled(t *testing.T) {
	c, err := Parse("p.yaml", []byte(r17Merged), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("a configuration that disables a merged sink with ~ is refused: %v", err)
	}
	v, _ := c.Views.Get("v")
	if v.Sinks.Elasticsearch == nil {
		t.Fatalf("the merged elasticsearch sink is missing")
	}
	if v.Sinks.Postgres != nil {
		t.Errorf("`postgres: ~` over a merge key: view v has a postgres sink %+v; want none (the ~ disables it)", *v.Sinks.Postgres)
	}
}
