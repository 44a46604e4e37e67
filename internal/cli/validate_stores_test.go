package cli

import (
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
)

// storeConfigYAML is a one-view configuration whose stores and redis sink the
// test fills in.
func storeConfigYAML(stores, redisSink string) string {
	return `version: 1
kafka: { brokers: "127.0.0.1:1" }
admin: { listen: "127.0.0.1:0" }
stores:
` + stores + `
sources:
  products:
    topic: shop.public.products
    key: id
    columns: { id: bigint, name: text }
views:
  product_view:
    from: products
    fields: { id: id, name: name }
    sinks:
      postgres: {}
      redis: ` + redisSink + `
`
}

// TestValidateRejectsStoreURLsTheDriversRefuse: `projector validate`
// must report what `projector run` then refuses at start as a configuration
// problem (exit 2, file:line:col), not say "ok".
func TestValidateRejectsStoreURLsTheDriversRefuse(t *testing.T) {
	for _, tc := range []struct{ name, stores string }{
		{"postgres sslmode", `  postgres: { url: "postgres://app@127.0.0.1:55432/shop?sslmode=bogus" }
  redis: { url: "redis://127.0.0.1:56379/0" }`},
		{"postgres connect_timeout", `  postgres: { url: "postgres://app@127.0.0.1:55432/shop?connect_timeout=abc" }
  redis: { url: "redis://127.0.0.1:56379/0" }`},
		{"redis database", `  postgres: { url: "postgres://app@127.0.0.1:55432/shop" }
  redis: { url: "redis://127.0.0.1:56379/abc" }`},
		{"redis option", `  postgres: { url: "postgres://app@127.0.0.1:55432/shop" }
  redis: { url: "redis://127.0.0.1:56379/0?bogus=1" }`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeConfig(t, storeConfigYAML(tc.stores, `{ key: "product:{id}" }`))
			code, out, errs := run(t, "validate", "--offline", "-c", p)
			if code != ExitUsage || !strings.Contains(errs, p+":") {
				t.Errorf("validate: exit %d, want %d with file:line:col\nstdout: %s\nstderr: %s", code, ExitUsage, out, errs)
			}
		})
	}
}

// TestValidateRejectsSubMillisecondTTL: a redis ttl the sink refuses
// (`TTL 500µs is not 0 or at least 1ms`) passes validate, and `run` then
// fails with exit 1 and no position.
func TestValidateRejectsSubMillisecondTTL(t *testing.T) {
	p := writeConfig(t, storeConfigYAML(`  postgres: { url: "postgres://app@127.0.0.1:55432/shop" }
  redis: { url: "redis://127.0.0.1:56379/0" }`, `{ key: "product:{id}", ttl: 500us }`))
	code, out, errs := run(t, "validate", "--offline", "-c", p)
	if code != ExitUsage || !strings.Contains(errs, "ttl") {
		t.Errorf("validate: exit %d, want %d naming ttl\nstdout: %s\nstderr: %s", code, ExitUsage, out, errs)
	}
}

// TestValidateReadsElasticsearchCACert: validate reads kafka.tls's
// PEM files and reports a missing one at its key; stores.elasticsearch.
// ca_cert is not read at all, so `run` fails at start (exit 1, no
// position) on a path validate said was fine.
func TestValidateReadsElasticsearchCACert(t *testing.T) {
	p := writeConfig(t, `version: 1
kafka: { brokers: "127.0.0.1:1" }
stores:
  postgres: { url: "postgres://app@127.0.0.1:55432/shop" }
  elasticsearch: { url: "https://es.internal:9200", ca_cert: /nonexistent/review-es-ca.pem }
sources:
  products:
    topic: shop.public.products
    key: id
    columns: { id: bigint, name: text }
views:
  product_view:
    from: products
    fields: { id: id, name: name }
    sinks: { elasticsearch: {} }
`)
	code, out, errs := run(t, "validate", "--offline", "-c", p)
	if code != ExitUsage || !strings.Contains(errs, "ca_cert") {
		t.Errorf("validate: exit %d, want %d naming ca_cert\nstdout: %s\nstderr: %s", code, ExitUsage, out, errs)
	}
}

// TestRunInvalidStoreURLIsUsage: run and query refuse a store URL its
// driver refuses as a configuration problem, exit 2, as validate does.
func TestRunInvalidStoreURLIsUsage(t *testing.T) {
	_, url := testenv.Postgres(t)
	p := writeConfig(t, storeConfigYAML(`  postgres: { url: "`+url+`" }
  redis: { url: "redis://127.0.0.1:56379/abc" }`, `{ key: "product:{id}" }`))
	for _, args := range [][]string{{"run", "-c", p}, {"query", "-c", p, "product_view", "1"}} {
		code, _, errs := run(t, args...)
		if code != ExitUsage || !strings.Contains(errs, "redis") {
			t.Errorf("%s with an invalid redis url: exit %d, want %d naming redis\n%s", args[0], code, ExitUsage, errs)
		}
	}
}
