package projector_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/internal/testenv"
)

// gadgetsYAML has typed columns a PostgreSQL source can hold in
// values PostgreSQL's own text input cannot take back as written.
const gadgetsYAML = `
version: 1
kafka: { brokers: "${BROKERS}", group: gadgets }
stores:
  postgres: { url: "${PG}" }
sources:
  gadgets:
    topic: cqrs.public.gadgets
    key: id
    columns: { id: text, made: timestamp, born: date, qty: integer }
views:
  gadget_view:
    from: gadgets
    fields: { id: id, made: made, born: born, qty: qty }
    sinks:
      postgres: { table: gadget_view }
`

func gadgetRecord(t *testing.T, id string, after map[string]any) *kgo.Record {
	t.Helper()
	v := sample(t, "postgres/create_schemaless.value.json", func(m map[string]any) {
		after["id"] = id
		m["after"] = after
		src := m["source"].(map[string]any)
		src["table"] = "gadgets"
	})
	return &kgo.Record{Topic: "cqrs.public.gadgets", Key: []byte(`{"id":"` + id + `"}`), Value: v}
}

// gadgetStalls produces one record carrying a value of the given columns
// and one good record after it, and fails the test when the consumer does
// not get past them: the bad value must be stored or dead-lettered, never
// retried forever.
func gadgetStalls(t *testing.T, bad map[string]any) {
	pool, pgURL := testenv.Postgres(t)
	kc := newCluster(t, 1, "cqrs.public.gadgets")
	cfg, plan := loadPlan(t, gadgetsYAML, env("BROKERS", brokers(kc), "PG", pgURL))
	m := startMember(t, cfg, plan, 100)
	kc.produce(t,
		gadgetRecord(t, "g1", bad),
		gadgetRecord(t, "g2", map[string]any{"made": "2024-05-01T10:00:00", "born": "2020-01-02", "qty": 3}),
	)
	if err := caughtUpWithin(t, kc, "gadgets", 20*time.Second, m.done); err != nil {
		var n int
		_ = pool.QueryRow(context.Background(), `SELECT count(*) FROM gadget_view`).Scan(&n)
		t.Fatalf("consumer stalled on %v (gadget_view has %d rows): %v", bad, n, err)
	}
}

// TestTimestampYearZero: PostgreSQL holds '0001-01-01 BC' (year 0 in ISO
// numbering), which would be written as "0000-…" and refused on every
// retry: the record is a dead letter and the consumer moves on.
func TestTimestampYearZero(t *testing.T) {
	gadgetStalls(t, map[string]any{"made": "0000-06-01T00:00:00", "born": "2020-01-02", "qty": 1})
}

// TestDateBC: a date before year 1 (PostgreSQL holds dates back to 4713
// BC; Debezium sends days since the epoch) would be written "-0100-…" and
// refused on every retry: the record is a dead letter.
func TestDateBC(t *testing.T) {
	gadgetStalls(t, map[string]any{"made": "2024-05-01T10:00:00", "born": -756000, "qty": 1})
}

// TestDateBeyondPostgres: a date past year 9999 (int32 days reach far
// beyond what PostgreSQL's date holds) is a dead letter.
func TestDateBeyondPostgres(t *testing.T) {
	gadgetStalls(t, map[string]any{"made": "2024-05-01T10:00:00", "born": 2147483647, "qty": 1})
}

// TestRedisIndexInfiniteTimestamp: PostgreSQL's 'infinity' timestamp
// decodes to the string "infinity" (documented) and PostgreSQL stores it;
// a Redis index scored by that field sorts it last instead of refusing it.
func TestRedisIndexInfiniteTimestamp(t *testing.T) {
	_, pgURL := testenv.Postgres(t)
	_, prefix := testenv.Redis(t)
	kc := newCluster(t, 1, "cqrs.public.gadgets")
	yaml := gadgetsYAML[:len(gadgetsYAML)-1] + `
      redis: { key: "${PREFIX}gadget:{id}", indexes: [{ key: "${PREFIX}gadgets", score: made }] }
`
	yaml = mustReplace(yaml, `postgres: { url: "${PG}" }`, `postgres: { url: "${PG}" }
  redis: { url: "${REDIS}" }`)
	cfg, plan := loadPlan(t, yaml, env("BROKERS", brokers(kc), "PG", pgURL, "REDIS", testenv.RedisURL(t), "PREFIX", prefix))
	m := startMember(t, cfg, plan, 100)
	kc.produce(t,
		gadgetRecord(t, "g1", map[string]any{"made": "infinity", "born": "2020-01-02", "qty": 1}),
		gadgetRecord(t, "g2", map[string]any{"made": "2024-05-01T10:00:00", "born": "2020-01-02", "qty": 3}),
	)
	if err := caughtUpWithin(t, kc, "gadgets", 20*time.Second, m.done); err != nil {
		t.Fatalf("consumer stalled on an infinite timestamp scoring a Redis index: %v", err)
	}
}

func mustReplace(s, old, new string) string {
	i := strings.Index(s, old)
	if i < 0 {
		panic("mustReplace: " + old + " not found")
	}
	return s[:i] + new + s[i+len(old):]
}

const stockYAML = `
version: 1
kafka: { brokers: "${BROKERS}", group: stock }
stores:
  postgres: { url: "${PG}" }
sources:
  stock:
    topic: mongo.shop.stock
    key: _id
    columns: { _id: text, qty: integer, price: "numeric(5,2)" }
views:
  stock_view:
    from: stock
    fields: { id: _id, qty: qty, price: price }
    sinks:
      postgres: { table: stock_view }
`

func stockRecord(oid, doc string) *kgo.Record {
	v := `{"before":null,"after":` + strconvQuote(`{"_id": {"$oid": "`+oid+`"}, `+doc+`}`) +
		`,"updateDescription":null,"source":{"version":"2.7.0.Final","connector":"mongodb","name":"mongo","ts_ms":1745949565000,"snapshot":"false","db":"shop","collection":"stock","ord":1},"op":"c","ts_ms":1745949565830}`
	return &kgo.Record{Topic: "mongo.shop.stock", Key: []byte(`{"id":` + strconvQuote(`{"$oid": "`+oid+`"}`) + `}`), Value: []byte(v)}
}

func strconvQuote(s string) string { return string(must(json.Marshal(s))) }

// TestMongoValueBeyondDeclaredType: a MongoDB document's top-level fields
// are held to their declared types: an int64 in a field declared integer,
// or a number beyond a declared numeric(5,2), makes the record a dead
// letter (README), never a row PostgreSQL refuses on every retry.
func TestMongoValueBeyondDeclaredType(t *testing.T) {
	for name, doc := range map[string]string{
		"integer":      `"qty": 3000000000, "price": 1.5`,
		"numeric(5,2)": `"qty": 1, "price": 123456.78`,
	} {
		t.Run(name, func(t *testing.T) {
			_, pgURL := testenv.Postgres(t)
			kc := newCluster(t, 1, "mongo.shop.stock")
			cfg, plan := loadPlan(t, stockYAML, env("BROKERS", brokers(kc), "PG", pgURL))
			m := startMember(t, cfg, plan, 100)
			kc.produce(t,
				stockRecord("6811137d0c9f202a34d861e0", doc),
				stockRecord("6811137d0c9f202a34d861e1", `"qty": 2, "price": 2.5`),
			)
			if err := caughtUpWithin(t, kc, "stock", 20*time.Second, m.done); err != nil {
				t.Fatalf("consumer stalled on %s: %v", doc, err)
			}
		})
	}
}

// TestNumericNaN: PostgreSQL's numeric holds NaN, which Debezium sends as
// a string; declared numeric(10,2), it is stored as NaN (read as base64
// bytes it once became 137.31).
func TestNumericNaN(t *testing.T) {
	pool, pgURL := testenv.Postgres(t)
	kc := newCluster(t, 1, "cqrs.public.gadgets")
	yaml := mustReplace(gadgetsYAML, "qty: integer }", `qty: integer, price: "numeric(10,2)" }`)
	yaml = mustReplace(yaml, "qty: qty }", "qty: qty, price: price }")
	cfg, plan := loadPlan(t, yaml, env("BROKERS", brokers(kc), "PG", pgURL))
	m := startMember(t, cfg, plan, 100)
	kc.produce(t,
		gadgetRecord(t, "g1", map[string]any{"made": "2024-05-01T10:00:00", "born": "2020-01-02", "qty": 1, "price": "NaN"}),
		gadgetRecord(t, "g2", map[string]any{"made": "2024-05-01T10:00:00", "born": "2020-01-02", "qty": 1, "price": "12.50"}),
	)
	if err := caughtUpWithin(t, kc, "gadgets", 30*time.Second, m.done); err != nil {
		t.Fatal(err)
	}
	var price *string
	err := pool.QueryRow(context.Background(), `SELECT price::text FROM gadget_view WHERE id = 'g1'`).Scan(&price)
	if err == nil && price != nil && *price != "NaN" {
		t.Fatalf("numeric NaN stored as %s", *price)
	}
}
