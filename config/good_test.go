package config

import (
	"errors"
	"io/fs"
	"reflect"
	"testing"
	"time"
)

// check is one expected value of a decoded configuration.
type check struct {
	name      string
	got, want any
}

func runChecks(t *testing.T, checks []check) {
	t.Helper()
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

func loadGood(t *testing.T, file string) *Config {
	t.Helper()
	c, err := Load(file, lookupTestEnv)
	if err != nil {
		t.Fatalf("Load(%s):\n%v", file, err)
	}
	return c
}

func keys[T any](m Map[T]) []string {
	out := make([]string, len(m))
	for i, e := range m {
		out[i] = e.Key
	}
	return out
}

func pos(file string, line, col int) Pos { return Pos{File: file, Line: line, Col: col} }

func get[T any](t *testing.T, m Map[T], key string) T {
	t.Helper()
	v, ok := m.Get(key)
	if !ok {
		t.Fatalf("key %q missing (have %v)", key, keys(m))
	}
	return v
}

// TestShopExample loads the example the README and examples/shop use.
func TestShopExample(t *testing.T) {
	const file = "testdata/shop.good.yml"
	c := loadGood(t, file)
	view := get(t, c.Views, "order_view")
	customer := get(t, view.Fields, "customer")
	orders := get(t, c.Sources, "orders")
	runChecks(t, []check{
		{"File", c.File, file},
		{"Version", c.Version, 1},
		{"brokers from the ${VAR:-default} default", c.Kafka.Brokers, StringList{"localhost:9092"}},
		{"group from the default", c.Kafka.Group, "projector-shop"},
		{"dead letter topic default", c.Kafka.DeadLetterTopic, "projector-shop.dlq"},
		{"client id default", c.Kafka.ClientID, DefaultClientID},
		{"batch size default", c.Kafka.BatchSize, DefaultBatchSize},
		{"batch bytes default", c.Kafka.BatchBytes, DefaultBatchBytes},
		{"shutdown timeout default", c.Kafka.ShutdownTimeout, Duration(20 * time.Second)},
		{"postgres url from the environment", c.Stores.Postgres.URL, testEnv["PROJECTOR_POSTGRES_URL"]},
		{"state schema default", c.Stores.Postgres.Schema, "projector"},
		{"redis url ${VAR:-} unset", c.Stores.Redis.URL, ""},
		{"admin default", c.Admin.Listen, "127.0.0.1:9464"},
		{"log defaults", c.Log, Log{Format: "text", Level: "info"}},
		{"tolerance default", c.Errors.Tolerance, "all"},
		{"source order", keys(c.Sources), []string{"orders", "users"}},
		{"source format default", orders.Format, "auto"},
		{"source key scalar", orders.Key, StringList{"id"}},
		{"column order", keys(orders.Columns), []string{"id", "user_id", "status", "total_amount", "created_at"}},
		{"column type", get(t, orders.Columns, "total_amount"), "numeric(10,2)"},
		{"column KeyPos", orders.Columns[3].KeyPos, pos(file, 13, 57)},
		{"source Pos", orders.Pos, pos(file, 11, 5)},
		{"view KeyPos", c.Views[0].KeyPos, pos(file, 19, 3)},
		{"view Pos", view.Pos, pos(file, 20, 5)},
		{"where", view.Where, `status != "cancelled"`},
		{"field order", keys(view.Fields), []string{"id", "status", "customer", "item_count"}},
		{"short-form field", get(t, view.Fields, "id"), Field{Pos: pos(file, 23, 11), Column: "id"}},
		{"join", customer.One, "users"},
		{"join Pos", customer.Pos, pos(file, 26, 9)},
		{"join on", customer.On, Map[string]{{Key: "_id", KeyPos: pos(file, 27, 15), Value: "user_id"}}},
		{"joined fields", keys(customer.Fields), []string{"id", "name", "email"}},
		{"joined short form", get(t, customer.Fields, "id").Column, "_id"},
		{"expr field", get(t, view.Fields, "item_count"), Field{Pos: pos(file, 29, 19), Expr: "len(items)", Type: "bigint"}},
		{"postgres sink", *view.Sinks.Postgres, PostgresSink{Pos: pos(file, 31, 17), Table: "order_view", Schema: "public"}},
		{"redis sink", *view.Sinks.Redis, RedisSink{Pos: pos(file, 32, 14), Key: "order:{id}", Format: "json"}},
		{"elasticsearch sink", view.Sinks.Elasticsearch.Index, "orders"},
		{"sinks without a store URL", c.DisabledSinks(), []string{"order_view.redis", "order_view.elasticsearch"}},
		{"rebuild defaults", c.Rebuild, Rebuild{Keep: DefaultRebuildKeep, SignalTimeout: DefaultSignalTimeout}},
		{"tombstone retention default", c.State.TombstoneRetention, DefaultTombstones},
		{"signal defaults from the topic", get(t, c.Sources, "users").Signal,
			Signal{Topic: "shopmongo-signal", Connector: "shopmongo", Collection: "shop.users"}},
	})
}

func TestFullFile(t *testing.T) {
	const file = "testdata/full.good.yml"
	c := loadGood(t, file)
	orderView := get(t, c.Views, "order_view")
	stats := get(t, c.Views, "user_stats")
	items := get(t, orderView.Fields, "items")
	pg := orderView.Sinks.Postgres
	runChecks(t, []check{
		{"quoted version", c.Version, 1},
		{"brokers split from one env string", c.Kafka.Brokers, StringList{"kafka-1:9092", "kafka-2:9092"}},
		{"group from a set variable", c.Kafka.Group, "shop"},
		{"client id from the default", c.Kafka.ClientID, "projector-1"},
		{"dead letter topic follows the group", c.Kafka.DeadLetterTopic, "shop.dlq"},
		{"batch size", c.Kafka.BatchSize, 200},
		{"$$ is a literal $", c.Stores.Postgres.URL, "postgres://projector:pa$word@localhost:5432/shop?sslmode=disable"},
		{"state schema", c.Stores.Postgres.Schema, "projector_state"},
		{"${VAR:-x} with VAR empty", string(c.Stores.Elasticsearch.Password), "changeme"},
		{"ca cert", c.Stores.Elasticsearch.CACert, "testdata/es-ca.pem"},
		{"admin off is empty", c.Admin.Listen, ""},
		{"log", c.Log, Log{Pos: pos(file, 19, 6), Format: "json", Level: "debug"}},
		{"tolerance", c.Errors.Tolerance, "none"},
		{"rebuild", c.Rebuild, Rebuild{Pos: pos(file, 76, 10), Keep: Duration(24 * time.Hour), SignalTimeout: Duration(30 * time.Minute)}},
		{"state", c.State, State{Pos: pos(file, 77, 8), TombstoneRetention: Duration(30 * 24 * time.Hour)}},
		{"source order", keys(c.Sources), []string{"users", "orders", "items"}},
		{"key list", get(t, c.Sources, "users").Key, StringList{"_id"}},
		{"key comma string", get(t, c.Sources, "orders").Key, StringList{"id", "region"}},
		{"format", get(t, c.Sources, "items").Format, "avro"},
		{"view order", keys(c.Views), []string{"user_stats", "order_view"}},
		{"id comma string", orderView.ID, StringList{"id", "region"}},
		{"one with column", get(t, orderView.Fields, "customer_name"), Field{Pos: pos(file, 55, 22), One: "users", Column: "name",
			On: Map[string]{{Key: "_id", KeyPos: pos(file, 55, 42), Value: "user_id"}}}},
		{"many", items.Many, "items"},
		{"order_by", items.OrderBy, StringList{"-created_at", "sku"}},
		{"many fields", keys(items.Fields), []string{"sku", "quantity"}},
		{"agg", get(t, orderView.Fields, "quantity"), Field{Pos: pos(file, 65, 17), Agg: "sum", Of: "items.quantity"}},
		{"$$ in an expression", get(t, orderView.Fields, "label").Expr, "'$' + region"},
		{"merged schema", pg.Schema, "read"},
		{"explicit key wins over merged", pg.Table, "order_view"},
		{"indexes", pg.Indexes, []Index{
			{Pos: pos(file, 72, 13), Fields: StringList{"customer_name"}},
			{Pos: pos(file, 73, 13), Fields: StringList{"region", "id"}, Unique: true},
		}},
		{"redis", *orderView.Sinks.Redis, RedisSink{Pos: pos(file, 74, 14), Key: "{{orders}}:{region}:{id}", Format: "hash", TTL: Duration(7 * 24 * time.Hour)}},
		{"elasticsearch index default", orderView.Sinks.Elasticsearch.Index, "order_view"},
		{"group_by", stats.GroupBy, StringList{"user_id"}},
		{"anchored sink", *stats.Sinks.Postgres, PostgresSink{Pos: pos(file, 46, 17), Schema: "read", Table: "user_stats"}},
		{"ttl with days and hours", stats.Sinks.Redis.TTL, Duration(36 * time.Hour)},
		{"redis fields", stats.Sinks.Redis.Fields, StringList{"orders", "spent"}},
		{"no disabled sinks", c.DisabledSinks(), []string(nil)},
	})
}

func TestMinimalFileDefaults(t *testing.T) {
	const file = "testdata/minimal.good.yml"
	c := loadGood(t, file)
	view := get(t, c.Views, "order_view")
	runChecks(t, []check{
		{"kafka", c.Kafka, Kafka{Pos: pos(file, 3, 3), Brokers: StringList{"localhost:9092"}, Group: "projector",
			ClientID: "projector", DeadLetterTopic: "projector.dlq", BatchSize: 10000,
			BatchBytes: 16 << 20, ShutdownTimeout: DefaultShutdown}},
		{"admin", c.Admin.Listen, "127.0.0.1:9464"},
		{"log", c.Log, Log{Format: "text", Level: "info"}},
		{"tolerance", c.Errors.Tolerance, "all"},
		{"postgres sink defaults", *view.Sinks.Postgres, PostgresSink{Pos: pos(file, 13, 17), Table: "order_view", Schema: "public"}},
		{"a sink written ~ is off", view.Sinks.Elasticsearch, (*ElasticsearchSink)(nil)},
		{"redis absent", view.Sinks.Redis, (*RedisSink)(nil)},
		{"no disabled sinks", c.DisabledSinks(), []string(nil)},
	})
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/does-not-exist.yml", lookupTestEnv)
	if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want a wrapped fs.ErrNotExist that is not ErrInvalid", err)
	}
}

// An environment value is substituted into one scalar after parsing: YAML
// in it stays text, and positions are those of the file.
func TestInterpolationCannotInjectYAML(t *testing.T) {
	src := []byte(`version: 1
kafka: { brokers: "localhost:9092", group: "${INJECT}", dead_letter_topic: dlq }
stores: { postgres: { url: "postgres://localhost/shop" } }
sources: { orders: { topic: t } }
views: { v: { from: orders, fields: { id: id }, sinks: { postgres: {} } } }
`)
	inject := "x\nadmin: {listen: \"0.0.0.0:1\"}"
	c, err := Parse("inline.yml", src, func(k string) (string, bool) { return inject, k == "INJECT" })
	if err != nil {
		t.Fatal(err)
	}
	runChecks(t, []check{
		{"group", c.Kafka.Group, inject},
		{"admin", c.Admin.Listen, DefaultAdminListen},
		{"view key pos", c.Views[0].KeyPos, pos("inline.yml", 5, 10)},
	})
}
