package projector_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"
	"github.com/shopspring/decimal"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/internal/shop"
	"github.com/projectorhq/projector/internal/testenv"
)

var shopTopics = []string{shop.TopicProducts, shop.TopicOrders, shop.TopicOrderItems, shop.TopicUsers}

// shopConfig is the example configuration with the test's Redis prefix.
func shopConfig(t *testing.T, kc *cluster, pgURL, prefix, group string) string {
	t.Helper()
	b, err := os.ReadFile("../examples/shop/projector.yaml")
	if err != nil {
		t.Fatal(err)
	}
	y := strings.NewReplacer(`"order:{id}"`, `"`+prefix+`order:{id}"`, `"user:{user_id}:stats"`, `"`+prefix+`user:{user_id}:stats"`).Replace(string(b))
	t.Setenv("PROJECTOR_KAFKA_BROKERS", brokers(kc))
	t.Setenv("PROJECTOR_POSTGRES_URL", pgURL)
	t.Setenv("PROJECTOR_REDIS_URL", testenv.RedisURL(t))
	t.Setenv("PROJECTOR_ELASTICSEARCH_URL", "")
	t.Setenv("PROJECTOR_GROUP", group)
	t.Setenv("PROJECTOR_ADMIN_LISTEN", "off")
	return y
}

func records(msgs []shop.Message) []*kgo.Record {
	out := make([]*kgo.Record, len(msgs))
	for i, m := range msgs {
		out[i] = &kgo.Record{Topic: m.Topic, Key: m.Key, Value: m.Value}
	}
	return out
}

// TestKillAndRestart kills a member mid-stream (no drain, no commit), starts
// another, and checks that the views equal the oracle: nothing lost.
func TestKillAndRestart(t *testing.T) {
	pool, pgURL := testenv.Postgres(t)
	rdb, prefix := testenv.Redis(t)
	kc := newCluster(t, 3, shopTopics...)
	cfg, plan := loadPlan(t, shopConfig(t, kc, pgURL, prefix, "shop"), nil)

	gen := shop.New(7)
	kc.produce(t, records(gen.Snapshot(30, 20, 100, 3))...)
	kc.produce(t, records(gen.Changes(1500))...)

	m := startMember(t, cfg, plan, 50)
	// Let it commit part of the stream, then kill it.
	deadline := time.Now().Add(60 * time.Second)
	for {
		var n int
		if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM projector.revs`).Scan(&n); err == nil && n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no document was projected within 60s")
		}
		select {
		case err := <-m.done:
			t.Fatalf("member stopped: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	m.kill(t)

	kc.produce(t, records(gen.Changes(500))...)
	m2 := startMember(t, cfg, plan, 200)
	kc.waitCaughtUp(t, "shop", m2.done)
	checkShop(t, gen, pool, rdb, prefix)
	m2.drain(t)
}

// checkShop compares order_view and user_order_stats in PostgreSQL and Redis
// with the oracle: a plain join over the generator's final rows.
func checkShop(t *testing.T, gen *shop.Generator, pool *pgxpool.Pool, rdb *goredis.Client, prefix string) {
	t.Helper()
	ctx := context.Background()
	want := gen.Shop.OrderView()
	rows, err := pool.Query(ctx, `SELECT to_jsonb(v) FROM order_view v`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]shop.OrderDoc{}
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			t.Fatal(err)
		}
		d, err := parseOrderDoc(raw)
		if err != nil {
			t.Fatalf("order_view row %s: %v", raw, err)
		}
		got[d.ID] = d
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if compareOrders(t, "postgres order_view", got, want) {
		t.Logf("order_view: %d docs, as the oracle says", len(want))
	}

	gotRedis := map[int64]shop.OrderDoc{}
	for k, raw := range redisDocs(t, pool, rdb, "order_view", false, func(id string) string { return prefix + "order:" + id }) {
		d, err := parseOrderDoc([]byte(raw.(string)))
		if err != nil {
			t.Fatalf("redis %s = %s: %v", k, raw, err)
		}
		if k != fmt.Sprintf("%sorder:%d", prefix, d.ID) {
			t.Errorf("redis key %s holds order %d", k, d.ID)
		}
		gotRedis[d.ID] = d
	}
	compareOrders(t, "redis order:{id}", gotRedis, want)

	wantStats := gen.Shop.UserOrderStats()
	srows, err := pool.Query(ctx, `SELECT user_id, order_count, total_spent::text FROM user_order_stats`)
	if err != nil {
		t.Fatal(err)
	}
	gotStats := map[string]shop.StatsDoc{}
	for srows.Next() {
		var d shop.StatsDoc
		var total string
		if err := srows.Scan(&d.UserID, &d.OrderCount, &total); err != nil {
			t.Fatal(err)
		}
		d.TotalSpent = decimal.RequireFromString(total)
		gotStats[d.UserID] = d
	}
	if err := srows.Err(); err != nil {
		t.Fatal(err)
	}
	compareStats(t, "postgres user_order_stats", gotStats, wantStats)

	gotRedisStats := map[string]shop.StatsDoc{}
	for k, v := range redisDocs(t, pool, rdb, "user_order_stats", true, func(id string) string { return prefix + "user:" + id + ":stats" }) {
		h := v.(map[string]string)
		var err error
		d := shop.StatsDoc{UserID: strings.TrimSuffix(strings.TrimPrefix(k, prefix+"user:"), ":stats")}
		if _, err := fmt.Sscan(h["order_count"], &d.OrderCount); err != nil {
			t.Fatalf("%s order_count %q: %v", k, h["order_count"], err)
		}
		d.TotalSpent, err = decimal.NewFromString(h["total_spent"])
		if err != nil {
			t.Fatalf("%s total_spent %q: %v", k, h["total_spent"], err)
		}
		gotRedisStats[d.UserID] = d
	}
	compareStats(t, "redis user:{user_id}:stats", gotRedisStats, wantStats)
}

// redisDocs reads the Redis keys of every doc of view ever computed (the
// ids in projector.revs: every key the sink can have written) and returns
// the values of those that exist, by key: the JSON text, or for a hash its
// fields. It reads what the test wrote instead of running KEYS or SCAN over
// a Redis that other tests share and that may hold millions of keys.
func redisDocs(t *testing.T, pool *pgxpool.Pool, rdb *goredis.Client, view string, hash bool, key func(id string) string) map[string]any {
	t.Helper()
	ctx := context.Background()
	ids := docIDs(t, pool, view)
	out := map[string]any{}
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 1000)]
		ids = ids[len(chunk):]
		cmds := make([]goredis.Cmder, len(chunk))
		_, err := rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for i, id := range chunk {
				if hash {
					cmds[i] = p.HGetAll(ctx, key(id))
				} else {
					cmds[i] = p.Get(ctx, key(id))
				}
			}
			return nil
		})
		if err != nil && !errors.Is(err, goredis.Nil) {
			t.Fatal(err)
		}
		for i, c := range cmds {
			switch c := c.(type) {
			case *goredis.StringCmd:
				if v, err := c.Result(); err == nil {
					out[key(chunk[i])] = v
				} else if !errors.Is(err, goredis.Nil) {
					t.Fatal(err)
				}
			case *goredis.MapStringStringCmd:
				v, err := c.Result()
				if err != nil {
					t.Fatal(err)
				}
				if len(v) > 0 {
					out[key(chunk[i])] = v
				}
			}
		}
	}
	return out
}

// docIDs lists the ids of every doc of view that was ever computed.
func docIDs(t *testing.T, pool *pgxpool.Pool, view string) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT doc_id FROM projector.revs WHERE view = $1`, view)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// compareOrders reports every difference and whether there was none.
func compareOrders(t *testing.T, where string, got, want map[int64]shop.OrderDoc) bool {
	t.Helper()
	bad := 0
	for id, w := range want {
		g, ok := got[id]
		switch {
		case !ok:
			t.Errorf("%s: order %d missing", where, id)
			bad++
		case !sameOrder(g, w):
			t.Errorf("%s: order %d\n got %s\nwant %s", where, id, show(g), show(w))
			bad++
		}
		if bad > 5 {
			t.Fatalf("%s: giving up after %d differences", where, bad)
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			t.Errorf("%s: order %d should not exist", where, id)
			bad++
		}
	}
	if bad == 0 && len(want) == 0 {
		t.Errorf("%s: the oracle is empty: the test proves nothing", where)
		bad++
	}
	return bad == 0
}

func compareStats(t *testing.T, where string, got, want map[string]shop.StatsDoc) {
	t.Helper()
	for id, w := range want {
		g, ok := got[id]
		if !ok || g.OrderCount != w.OrderCount || !g.TotalSpent.Equal(w.TotalSpent) {
			t.Errorf("%s: %s = %+v (present %v), want %+v", where, id, g, ok, w)
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			t.Errorf("%s: %s should not exist", where, id)
		}
	}
}

func show(d shop.OrderDoc) string {
	b, _ := json.Marshal(d)
	return string(b)
}

func sameOrder(a, b shop.OrderDoc) bool {
	if a.ID != b.ID || a.Status != b.Status || !a.TotalAmount.Equal(b.TotalAmount) || !a.CreatedAt.Equal(b.CreatedAt) {
		return false
	}
	if (a.Customer == nil) != (b.Customer == nil) || (a.Customer != nil && *a.Customer != *b.Customer) {
		return false
	}
	if len(a.Items) != len(b.Items) {
		return false
	}
	for i := range a.Items {
		x, y := a.Items[i], b.Items[i]
		if x.ID != y.ID || x.ProductID != y.ProductID || x.Quantity != y.Quantity || !x.UnitPrice.Equal(y.UnitPrice) {
			return false
		}
		if (x.ProductName == nil) != (y.ProductName == nil) || (x.ProductName != nil && *x.ProductName != *y.ProductName) {
			return false
		}
	}
	return true
}

// parseOrderDoc reads an order_view document as a store returns it:
// decimals as numbers or strings, timestamps with or without a zone.
func parseOrderDoc(raw []byte) (shop.OrderDoc, error) {
	var m struct {
		ID          json.Number `json:"id"`
		Status      string      `json:"status"`
		TotalAmount any         `json:"total_amount"`
		CreatedAt   string      `json:"created_at"`
		Customer    *struct {
			ID, Name, Email string
		} `json:"customer"`
		Items []struct {
			ID          json.Number `json:"id"`
			ProductID   json.Number `json:"product_id"`
			ProductName *string     `json:"product_name"`
			Quantity    int32       `json:"quantity"`
			UnitPrice   any         `json:"unit_price"`
		} `json:"items"`
		ItemCount json.Number `json:"item_count"`
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		return shop.OrderDoc{}, err
	}
	var out shop.OrderDoc
	var err error
	if out.ID, err = m.ID.Int64(); err != nil {
		return out, err
	}
	out.Status = m.Status
	if out.TotalAmount, err = dec(m.TotalAmount); err != nil {
		return out, err
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999"} {
		if out.CreatedAt, err = time.Parse(layout, m.CreatedAt); err == nil {
			break
		}
	}
	if err != nil {
		return out, fmt.Errorf("created_at %q: %w", m.CreatedAt, err)
	}
	if m.Customer != nil {
		out.Customer = &shop.CustomerDoc{ID: m.Customer.ID, Name: m.Customer.Name, Email: m.Customer.Email}
	}
	out.Items = []shop.ItemDoc{}
	for _, it := range m.Items {
		x := shop.ItemDoc{ProductName: it.ProductName, Quantity: it.Quantity}
		x.ID, _ = it.ID.Int64()
		x.ProductID, _ = it.ProductID.Int64()
		if x.UnitPrice, err = dec(it.UnitPrice); err != nil {
			return out, err
		}
		out.Items = append(out.Items, x)
	}
	if n, _ := m.ItemCount.Int64(); n != int64(len(out.Items)) {
		return out, fmt.Errorf("item_count %s but %d items", m.ItemCount, len(out.Items))
	}
	return out, nil
}

func dec(v any) (decimal.Decimal, error) {
	switch x := v.(type) {
	case json.Number:
		return decimal.NewFromString(x.String())
	case string:
		return decimal.NewFromString(x)
	}
	return decimal.Decimal{}, fmt.Errorf("not a decimal: %v", v)
}
