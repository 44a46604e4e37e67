package projector_test

import (
	"context"
	"encoding/base64"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/testenv"
)

// r33gGroupYAML: a view grouped by two columns, whose groups the state
// lists through one btree index over both (indexes.go groupIndex).
const r33gGroupYAML = `
version: 1
kafka: { brokers: "${BROKERS}", group: widgets }
stores:
  postgres: { url: "${PG}" }
sources:
  widgets:
    topic: cqrs.public.widgets
    key: id
    columns: { id: text, name: text, active: boolean, shop: text }
views:
  by_shop_name:
    from: widgets
    group_by: [shop, name]
    fields:
      shop: shop
      name: name
      n: { agg: count }
    sinks:
      postgres: { table: by_shop_name }
`

// TestR33gTwoLongGroupColumnsStallConsumer: each group_by column is checked
// alone against 2,048 bytes (decode.go toRowChange, maxIndexedText), but a
// view grouped by two columns is listed through one btree index holding
// both (state_widgets#group("shop","name")). A row whose two values are
// 2,000 incompressible bytes each passes the check, and PostgreSQL refuses
// its index entry ("index row size … exceeds btree version 4 maximum
// 2704") on every retry: the batch is retried for ever ("project batch
// failed; retrying"), nothing behind it is projected, nothing goes to the
// dead-letter topic.
//
// README, Dead letters: "A row whose key, or whose value in a column joins
// look rows up by, is longer than 2,048 bytes goes there too (PostgreSQL's
// indexes cannot hold it, and its batch would fail on every retry)." The
// standard: bad input gets a clear error and loses nothing; no
// retry-forever on bad data. The bound must hold for the index entry (the
// group columns together), or the group index must not be one a row can
// overflow.
func TestR33gTwoLongGroupColumnsStallConsumer(t *testing.T) {
	pool, pgURL := testenv.Postgres(t)
	kc := newCluster(t, 1, "cqrs.public.widgets")
	cfg, plan := loadPlan(t, r33gGroupYAML, env("BROKERS", brokers(kc), "PG", pgURL))
	m := startMember(t, cfg, plan, 100)
	long := func(seed byte) string {
		noise := make([]byte, 1_500)
		_, _ = rand.NewChaCha8([32]byte{seed}).Read(noise)
		return base64.StdEncoding.EncodeToString(noise) // 2,000 bytes, under the 2,048 checked
	}
	kc.produce(t,
		widgetRecord("w2", sample(t, "postgres/create_schemaless.value.json", func(m map[string]any) {
			m["after"] = map[string]any{"id": "w2", "name": long(1), "active": true, "shop": long(2)}
		})),
		widgetRecord("w3", sample(t, "postgres/create_schemaless.value.json", func(m map[string]any) {
			m["after"] = map[string]any{"id": "w3", "name": "after the long one", "active": true, "shop": "s1"}
		})),
	)
	if err := caughtUpWithin(t, kc, "widgets", 30*time.Second, m.done); err != nil {
		t.Fatalf("a row whose two group_by values are 2,000 bytes each stalls the consumer instead of being projected or dead-lettered: %v", err)
	}
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT n FROM by_shop_name WHERE shop = 's1'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("group of the record after the long one: n=%d, %v; want 1", n, err)
	}
	m.drain(t)
}
