package projector_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// structKeyYAML: a PostgreSQL source keyed by a text column (codes), joined
// through that key from another source (items).
const structKeyYAML = `
version: 1
kafka: { brokers: "localhost:9092", group: g }
stores: { postgres: { url: "postgres://unused" } }
sources:
  codes: { topic: p.public.codes, key: code, columns: { code: text, label: text } }
  items: { topic: p.public.items, key: id, columns: { id: bigint, code: text } }
views:
  item_view:
    from: items
    fields: { id: id, label: { one: codes, on: { code: code }, column: label } }
    sinks: { postgres: {} }
`

func pgCreate(lsn int64, after string) []byte {
	return []byte(`{"before":null,"after":` + after + `,"source":{"connector":"postgresql","snapshot":"false","lsn":` +
		strconv.FormatInt(lsn, 10) + `},"op":"c","ts_ms":1}`)
}

// TestTextKeyInStructForm: with Kafka Connect's StringConverter as key
// converter, a text key "007" arrives as Struct{code=007}; it must stay the
// text "007" (not the integer 7: the state key would then differ from the
// row's value, and "007" collide with "7"), and a join through that key
// column, looked up by the state's primary key, finds the row.
func TestTextKeyInStructForm(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	ctx := context.Background()
	_, plan := loadPlan(t, structKeyYAML, nil)
	sink := newViewSink()
	eng := newEngine(t, pool, plan, sink, nil)
	recs := []projector.Record{
		{Topic: "p.public.codes", Key: []byte(`Struct{code=007}`), Value: pgCreate(100, `{"code":"007","label":"Bond"}`)},
		{Topic: "p.public.codes", Key: []byte(`Struct{code=42}`), Value: pgCreate(101, `{"code":"42","label":"Answer"}`)},
	}
	if dead, err := eng.Process(ctx, recs); err != nil || len(dead) > 0 {
		t.Fatalf("codes: %v %v", dead, err)
	}
	recs = []projector.Record{
		{Topic: "p.public.items", Key: []byte(`{"id":1}`), Value: pgCreate(200, `{"id":1,"code":"007"}`)},
		{Topic: "p.public.items", Key: []byte(`{"id":2}`), Value: pgCreate(201, `{"id":2,"code":"42"}`)},
	}
	if dead, err := eng.Process(ctx, recs); err != nil || len(dead) > 0 {
		t.Fatalf("items: %v %v", dead, err)
	}
	var key, col string
	if err := pool.QueryRow(ctx, `SELECT key, data->>'code' FROM projector.state_codes WHERE data->>'label' = 'Bond'`).Scan(&key, &col); err != nil {
		t.Fatal(err)
	}
	if key != "007" || col != "007" {
		t.Errorf("state of code 007: key %q, data->>'code' %q", key, col)
	}
	want := map[string]string{
		"item_view/1": `{"id":1,"label":"Bond"}`,
		"item_view/2": `{"id":2,"label":"Answer"}`,
	}
	checkDocs(t, sink, want)
}

// TestTwoInstancesMigrateTogether: two instances start together on a state
// table that lacks an index. The first builds it CONCURRENTLY holding the
// index lock; the second must not wait for that lock in a statement whose
// snapshot the build waits out (CREATE INDEX CONCURRENTLY waits for every
// older snapshot): that would deadlock, and one instance fail to start. A
// writer's open transaction holds the first build so that the second
// instance starts meanwhile.
func TestTwoInstancesMigrateTogether(t *testing.T) {
	pool, pgURL := testenv.Postgres(t)
	_, plan := loadPlan(t, patchRecoverYAML, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The state as an earlier version left it: state_teams without the
	// tombstone index.
	if _, err := pool.Exec(ctx, `CREATE SCHEMA projector;
		CREATE TABLE projector.state_teams (key text PRIMARY KEY, data jsonb NOT NULL,
			pos_hi bigint NOT NULL, pos_lo bigint NOT NULL, deleted boolean NOT NULL DEFAULT false,
			updated_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	pool2, err := pgxpool.New(ctx, pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool2.Close()

	// A running writer of state_teams, in the middle of a batch.
	writer, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Rollback(context.Background())
	if _, err := writer.Exec(ctx, `INSERT INTO projector.state_teams (key, data, pos_hi, pos_lo) VALUES ('t1', '{"_id": "t1"}', 1, 0)`); err != nil {
		t.Fatal(err)
	}

	waiting := func(pattern, event string) func() bool {
		return func() bool {
			var n int
			err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
				WHERE datname = current_database() AND query LIKE $1 AND wait_event_type = 'Lock' AND wait_event = $2`, pattern, event).Scan(&n)
			return err == nil && n > 0
		}
	}
	first := make(chan error, 1)
	go func() { first <- newEngineErr(pool, plan) }()
	waitCond(t, "the first instance's index build to wait for the writer", 30*time.Second,
		waiting("CREATE INDEX CONCURRENTLY%", "virtualxid"))
	second := make(chan error, 1)
	go func() { second <- newEngineErr(pool2, plan) }()
	if err := writer.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	for name, ch := range map[string]chan error{"first": first, "second": second} {
		select {
		case err := <-ch:
			if err != nil {
				t.Errorf("%s instance's Migrate: %v", name, err)
			}
		case <-ctx.Done():
			t.Fatalf("%s instance's Migrate hangs", name)
		}
	}
}

// longYAML: a join on a column of a source whose index name is longer than
// PostgreSQL's 63 bytes (it is truncated in the catalog).
const longYAML = `
version: 1
kafka: { brokers: "localhost:9092", group: g }
stores: { postgres: { url: "postgres://unused" } }
sources:
  customers: { topic: p.public.customers, key: id, columns: { id: bigint, name: text } }
  order_line_items_history_archive:
    topic: p.public.order_line_items_history_archive
    key: id
    columns: { id: bigint, customer_account_reference_number: bigint, note: text }
views:
  customer_view:
    from: customers
    fields:
      id: id
      lines: { many: order_line_items_history_archive, on: { customer_account_reference_number: id }, order_by: id, fields: { note: note } }
    sinks: { postgres: {} }
`

// TestLongIndexNameKeptAcrossStarts: the join index of a long source and
// column name, longer than PostgreSQL's 63 bytes, is found again by the
// next start, which leaves it as it is.
func TestLongIndexNameKeptAcrossStarts(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, longYAML, nil)
	ctx := context.Background()
	newEngine(t, pool, plan, newViewSink(), nil)
	oid := func() (uint32, string) {
		var o uint32
		var name string
		if err := pool.QueryRow(ctx, `SELECT c.oid, c.relname FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid
			WHERE c.relkind = 'i' AND c.relname LIKE 'state\_order\_line\_items\_history\_archive:customer%'`).Scan(&o, &name); err != nil {
			t.Fatal(err)
		}
		return o, name
	}
	before, name := oid()
	newEngine(t, pool, plan, newViewSink(), nil) // a second start changes nothing
	after, _ := oid()
	if before != after {
		t.Errorf("index %s rebuilt by a start that had nothing to do: oid %d, then %d", name, before, after)
	}
}

// collideYAML: source product's only key column sku_code is joined by key
// (no index of its own), while source product_sku is joined by its column
// code; both names come out as state_product_sku_code_idx.
const collideYAML = `
version: 1
kafka: { brokers: "localhost:9092", group: g }
stores: { postgres: { url: "postgres://unused" } }
sources:
  product: { topic: p.public.product, key: sku_code, columns: { sku_code: text, name: text } }
  product_sku: { topic: p.public.product_sku, key: id, columns: { id: bigint, code: text, size: text } }
views:
  product_view:
    from: product
    fields:
      id: sku_code
      name: name
      skus: { many: product_sku, on: { code: sku_code }, order_by: id, fields: { size: size } }
    sinks: { postgres: {} }
`

// TestKeyIndexDropSparesOtherSources: the upgrade step that drops the
// index earlier versions built on product's key column (named
// state_product_sku_code_idx) must not drop the join index of product_sku
// on code, which earlier versions named the same.
func TestKeyIndexDropSparesOtherSources(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, collideYAML, nil)
	ctx := context.Background()
	if got := plan.Source("product_sku").Indexed; len(got) != 1 || got[0] != "code" {
		t.Fatalf("product_sku indexed %v, want [code]", got)
	}
	for start := 1; start <= 2; start++ {
		newEngine(t, pool, plan, newViewSink(), nil)
		var def string
		err := pool.QueryRow(ctx, `SELECT indexdef FROM pg_indexes WHERE schemaname = 'projector' AND tablename = 'state_product_sku'
			AND indexdef LIKE '%data ->> ''code''%'`).Scan(&def)
		if err != nil {
			t.Errorf("start %d: the join index of product_sku on code: %v", start, err)
		}
	}
}

// TestKeyIndexDropDoesNotBlockWriters: dropping the index earlier versions
// built on a key column must not queue for an ACCESS EXCLUSIVE lock behind
// a running instance's open transaction, with every later reader and
// writer of the table queued behind it.
func TestKeyIndexDropDoesNotBlockWriters(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, patchRecoverYAML, nil)
	newEngine(t, pool, plan, newViewSink(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// An earlier version's index on the key column teams are joined by.
	if _, err := pool.Exec(ctx, `CREATE INDEX state_teams__id_idx ON projector.state_teams ((data->>'_id'))`); err != nil {
		t.Fatal(err)
	}
	// A running instance's batch, in flight.
	writer, migrated := migrateBehindWriter(t, ctx, pool, plan)
	// Another batch of a running instance, meanwhile.
	other, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Exec(ctx, `SET LOCAL lock_timeout = '3s'`); err != nil {
		t.Fatal(err)
	}
	_, werr := other.Exec(ctx, `INSERT INTO projector.state_teams (key, data, pos_hi, pos_lo) VALUES ('t2', '{"_id": "t2"}', 1, 0)`)
	_ = other.Rollback(ctx)
	if werr != nil {
		t.Errorf("a writer while the migration waits: %v", werr)
	}
	if err := writer.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-migrated; err != nil {
		t.Fatal(err)
	}
}

// tombstonesColumnYAML: orders are joined to their customer by a column
// that happens to be called "tombstones".
const tombstonesColumnYAML = `
version: 1
kafka: { brokers: "localhost:9092", group: g }
stores: { postgres: { url: "postgres://unused" } }
sources:
  customers: { topic: p.public.customers, key: id, columns: { id: bigint, name: text } }
  orders: { topic: p.public.orders, key: id, columns: { id: bigint, tombstones: bigint, note: text } }
views:
  customer_view:
    from: customers
    fields:
      id: id
      orders: { many: orders, on: { tombstones: id }, order_by: id, fields: { note: note } }
    sinks: { postgres: {} }
`

// TestJoinColumnNamedTombstonesIsIndexed: the join index of a column
// called "tombstones" does not share its name with the tombstone index
// (CREATE INDEX IF NOT EXISTS would skip it, and a start take the one for
// the other): each is there, at the first start and the next.
func TestJoinColumnNamedTombstonesIsIndexed(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, tombstonesColumnYAML, nil)
	if got := plan.Source("orders").Indexed; len(got) != 1 || got[0] != "tombstones" {
		t.Fatalf("orders indexed %v, want [tombstones]", got)
	}
	ctx := context.Background()
	for start := 1; start <= 2; start++ {
		newEngine(t, pool, plan, newViewSink(), nil)
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_indexes WHERE schemaname = 'projector'
			AND tablename = 'state_orders' AND indexdef LIKE '%(((data ->> ''tombstones''::text)))'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			var all string
			_ = pool.QueryRow(ctx, `SELECT string_agg(indexname || ': ' || indexdef, '; ') FROM pg_indexes
				WHERE schemaname = 'projector' AND tablename = 'state_orders'`).Scan(&all)
			t.Errorf("start %d: %d indexes on data->>'tombstones' of state_orders, want 1; the table has: %s", start, n, all)
		}
	}
}
