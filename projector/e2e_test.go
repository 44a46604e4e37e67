package projector_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/internal/testenv"
)

const widgetsYAML = `
version: 1
kafka: { brokers: "${BROKERS}", group: widgets }
stores:
  postgres: { url: "${PG}" }
  redis: { url: "${REDIS}" }
sources:
  widgets:
    topic: cqrs.public.widgets
    key: id
    columns: { id: text, name: text, active: boolean }
views:
  widget_view:
    from: widgets
    fields: { id: id, title: name, active: active }
    sinks:
      postgres: { table: widget_view }
      redis: { key: "${PREFIX}widget:{id}" }
`

// sample reads a Debezium record from ../shared/debezium-samples and applies
// edits to its JSON (to make a snapshot read or an older replay of it).
func sample(t *testing.T, name string, edit func(m map[string]any)) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "shared", "debezium-samples", name))
	if err != nil {
		t.Fatal(err)
	}
	if edit == nil {
		return b
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	return must(json.Marshal(m))
}

func widgetRecord(key string, value []byte) *kgo.Record {
	return &kgo.Record{Topic: "cqrs.public.widgets", Key: []byte(`{"id":"` + key + `"}`), Value: value}
}

// TestEndToEnd drives real Debezium records (create, update, delete with its
// tombstone, snapshot read, a stale replay) through Kafka into PostgreSQL and
// Redis and checks what a reader sees after each step.
func TestEndToEnd(t *testing.T) {
	pool, pgURL := testenv.Postgres(t)
	rdb, prefix := testenv.Redis(t)
	kc := newCluster(t, 1, "cqrs.public.widgets")
	cfg, plan := loadPlan(t, widgetsYAML, env("BROKERS", brokers(kc), "PG", pgURL, "REDIS", testenv.RedisURL(t), "PREFIX", prefix))
	m := startMember(t, cfg, plan, 100)

	snapshot := sample(t, "postgres/create_schemaless.value.json", func(m map[string]any) {
		m["op"] = "r"
		m["after"] = map[string]any{"id": "w0", "name": "from the snapshot", "active": true}
		src := m["source"].(map[string]any)
		src["snapshot"] = "last"
		src["lsn"] = 300000000
	})
	kc.produce(t,
		widgetRecord("w0", snapshot),
		widgetRecord("w1", sample(t, "postgres/create_schemaless.value.json", nil)),
		widgetRecord("w1", sample(t, "postgres/update_default_identity_schemaless.value.json", nil)),
	)
	kc.waitCaughtUp(t, "widgets", m.done)
	wantRows(t, pool, map[string]widget{
		"w0": {"from the snapshot", true},
		"w1": {"gadget2", false},
	})
	wantKeys(t, rdb, prefix, map[string]widget{
		"w0": {"from the snapshot", true},
		"w1": {"gadget2", false},
	})

	// The delete, then the tombstone Kafka compaction needs: w1 disappears
	// and the tombstone changes nothing.
	kc.produce(t,
		widgetRecord("w1", sample(t, "postgres/delete_default_identity_schemaless.value.json", nil)),
		widgetRecord("w1", nil),
	)
	kc.waitCaughtUp(t, "widgets", m.done)
	wantRows(t, pool, map[string]widget{"w0": {"from the snapshot", true}})
	wantKeys(t, rdb, prefix, map[string]widget{"w0": {"from the snapshot", true}})

	// A replay of the old create (an earlier position) must not resurrect w1.
	kc.produce(t, widgetRecord("w1", sample(t, "postgres/create_schemaless.value.json", nil)))
	kc.waitCaughtUp(t, "widgets", m.done)
	wantRows(t, pool, map[string]widget{"w0": {"from the snapshot", true}})
	wantKeys(t, rdb, prefix, map[string]widget{"w0": {"from the snapshot", true}})
	m.drain(t)
}

type widget struct {
	Title  string
	Active bool
}

func wantRows(t *testing.T, pool *pgxpool.Pool, want map[string]widget) {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT id, title, active FROM widget_view`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]widget{}
	for rows.Next() {
		var id string
		var w widget
		if err := rows.Scan(&id, &w.Title, &w.Active); err != nil {
			t.Fatal(err)
		}
		got[id] = w
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("widget_view has %d rows %v, want %d %v", len(got), got, len(want), want)
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("widget_view[%s] = %+v, want %+v", id, got[id], w)
		}
	}
}

func wantKeys(t *testing.T, rdb *goredis.Client, prefix string, want map[string]widget) {
	t.Helper()
	ctx := context.Background()
	keys, err := rdb.Keys(ctx, prefix+"widget:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != len(want) {
		t.Errorf("redis has keys %v, want %d", keys, len(want))
	}
	for id, w := range want {
		raw, err := rdb.Get(ctx, prefix+"widget:"+id).Result()
		if err != nil {
			t.Errorf("GET %swidget:%s: %v", prefix, id, err)
			continue
		}
		var doc struct {
			ID     string `json:"id"`
			Title  string `json:"title"`
			Active bool   `json:"active"`
		}
		if err := json.Unmarshal([]byte(raw), &doc); err != nil {
			t.Fatalf("GET %s: %v", id, err)
		}
		if doc.ID != id || (widget{doc.Title, doc.Active}) != w {
			t.Errorf("GET widget:%s = %s, want %+v", id, raw, w)
		}
	}
}
