package config

import (
	"strings"
	"testing"
)

// A store URL carries a password as surely as kafka.sasl.password does:
// a "${" that cannot be expanded in it must be reported without quoting
// the text around it (README: "reported at its key and position without
// quoting any of it"; checkURL: "URLs carry passwords ... never printing it").
func TestMalformedReferenceInURLDoesNotQuotePassword(t *testing.T) {
	for _, tc := range []struct{ key, yaml, secret string }{
		{"stores.postgres.url", `stores: { postgres: { url: "postgres://app:Xq7${kP9zz@db.internal/shop" } }`, "kP9zz"},
		{"stores.redis.url", `stores: { postgres: { url: "postgres://h/db" }, redis: { url: "redis://:Rr${pwSecret@cache:6379/0" } }`, "pwSecret"},
		{"stores.elasticsearch.url", `stores: { postgres: { url: "postgres://h/db" }, elasticsearch: { url: "https://elastic:E${s3cret}x@es:9200" } }`, "s3cret"},
	} {
		doc := "version: 1\nkafka: { brokers: \"localhost:9092\" }\n" + tc.yaml + `
sources:
  orders:
    topic: shop.public.orders
    key: id
    columns: { id: bigint, status: text }
views:
  v:
    from: orders
    fields: { id: id, status: status }
`
		_, err := Parse("p.yaml", []byte(doc), func(string) (string, bool) { return "", false })
		if err == nil {
			t.Fatalf("%s: no error", tc.key)
		}
		if !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%s: not reported:\n%v", tc.key, err)
		}
		if strings.Contains(err.Error(), tc.secret) {
			t.Errorf("%s: the error quotes the password %q:\n%v", tc.key, tc.secret, err)
		}
	}
}

func TestMalformedReferenceInRegistryURLDoesNotQuotePassword(t *testing.T) {
	doc := `version: 1
kafka:
  brokers: "localhost:9092"
  schema_registry: { url: "https://key:Rg${pwSecret@registry:8081" }
stores: { postgres: { url: "postgres://h/db" } }
sources:
  orders:
    topic: shop.public.orders
    key: id
    columns: { id: bigint, status: text }
views:
  v:
    from: orders
    fields: { id: id, status: status }
`
	_, err := Parse("p.yaml", []byte(doc), func(string) (string, bool) { return "", false })
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), "pwSecret") {
		t.Errorf("the error quotes the registry password:\n%v", err)
	}
}
