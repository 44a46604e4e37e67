package projections_test

import (
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projections"
)

// TestR35cKeyTemplateMustNameEveryIDField: a Redis key template is the
// document's identity in Redis (its key, its revision key
// projector:rev:{<key>}, its index members). The README's Known limits
// admit two documents sharing a key only when placeholders are separated
// by text their values may hold; a template that leaves out one of a
// composite id's fields gives every document with the same remaining
// values one key, always: the newer revision overwrites the other
// document, a delete of one removes the other, and a reader of
// "pair:1" gets one of several documents. validate must refuse it, as it
// refuses a placeholder that is no id field.
func TestR35cKeyTemplateMustNameEveryIDField(t *testing.T) {
	for _, tc := range []struct{ name, yaml string }{
		{"composite source key", `version: 1
kafka: { brokers: "localhost:9092" }
stores:
  postgres: { url: "postgres://u@localhost/db" }
  redis: { url: "redis://localhost:6379/0" }
sources:
  pairs:
    topic: s.public.pairs
    key: [a, b]
    columns: { a: bigint, b: text, v: text }
views:
  pv:
    from: pairs
    fields: { a: a, b: b, v: v }
    sinks: { redis: { key: "pair:{a}" } }
`},
		{"group_by on two columns", `version: 1
kafka: { brokers: "localhost:9092" }
stores:
  postgres: { url: "postgres://u@localhost/db" }
  redis: { url: "redis://localhost:6379/0" }
sources:
  orders:
    topic: s.public.orders
    key: id
    columns: { id: bigint, user_id: text, status: text }
views:
  stats:
    from: orders
    group_by: [user_id, status]
    fields: { user_id: user_id, status: status, n: { agg: count } }
    sinks: { redis: { key: "stats:{user_id}" } }
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse("t.yaml", []byte(tc.yaml), lookup)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if _, err := projections.Compile(cfg); err == nil {
				t.Errorf("a redis key template that leaves out an id field was accepted: documents that differ only in that field share one Redis key (and one revision key), overwriting and deleting each other")
			}
		})
	}
}
