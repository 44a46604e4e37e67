package config

import (
	"strings"
	"testing"
)

// A document must not be able to write a key of another view, nor any key
// of the database: a sku "1:stats" of products would be product_stats's
// key for sku 1, and a key "{sku}" could be any key at all. Both are
// refused (testdata/redis_keys.bad.yml has more cases).
func TestDocCannotWriteAnotherViewsKey(t *testing.T) {
	const head = `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://localhost/x" }, redis: { url: "redis://localhost:6379" } }
sources:
  products: { topic: p, key: sku }
views:
`
	for _, tc := range []struct{ name, views, want string }{
		{"a key inside another", `
  products:
    from: products
    fields: { sku: sku }
    sinks: { redis: { key: "p:{sku}" } }
  product_stats:
    from: products
    fields: { sku: sku }
    sinks: { redis: { key: "p:{sku}:stats" } }
`, `t.yaml:14:28: redis sink of view "product_stats": key "p:{sku}:stats" can give the same key as key "p:{sku}" of view "products" (at 10:28)`},
		{"a key of the whole database", `
  products:
    from: products
    fields: { sku: sku }
    sinks: { redis: { key: "{sku}" } }
`, `t.yaml:10:28: redis sink of view "products": key "{sku}" starts with a placeholder, so a document could write any key of the Redis database: a key must start with a literal prefix`},
		{"keys apart", `
  products:
    from: products
    fields: { sku: sku }
    sinks: { redis: { key: "p:{sku}" } }
  product_stats:
    from: products
    fields: { sku: sku }
    sinks: { redis: { key: "ps:{sku}" } }
`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(head+strings.TrimPrefix(tc.views, "\n")), lookupTestEnv)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want)):
				t.Errorf("error %v\nwant %s...", err, tc.want)
			}
		})
	}
}

// TestRevisionKeysOfHashTags: a key and the same key inside a whole-key
// cluster hash tag ({{cart:{id}}}) are two keys, but the sink names a
// key's revision key by its tag: they share projector:rev:{cart:1}, and
// one view's revisions would make the other's documents stale. Refused.
func TestRevisionKeysOfHashTags(t *testing.T) {
	a, err := ParseKeyTemplate("cart:{id}")
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseKeyTemplate("{{cart:{id}}}")
	if err != nil {
		t.Fatal(err)
	}
	if KeysOverlap(a, b) {
		t.Fatal("premise: the keys themselves differ")
	}
	if !KeysOverlap(untagged(a), untagged(b)) {
		t.Error("the two templates' revision keys are not seen to be the same")
	}
	c, _ := ParseKeyTemplate("{{cart}}:{id}") // a tag on part of the key: its own revision keys
	if KeysOverlap(untagged(a), untagged(c)) {
		t.Error("a partial tag taken for a whole-key one")
	}
}
