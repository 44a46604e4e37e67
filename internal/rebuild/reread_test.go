package rebuild

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// colorChange is a Debezium PostgreSQL change (op c or u) of an item with
// a color, without schema.
func colorChange(op string, id int64, color string, lsn int64) []byte {
	b, _ := json.Marshal(map[string]any{
		"source": map[string]any{"connector": "postgresql", "name": "shop", "db": "shop", "schema": "public", "table": "items", "lsn": lsn},
		"op":     op, "before": nil,
		"after": map[string]any{"id": id, "name": fmt.Sprintf("item-%d", id), "qty": id, "color": color},
	})
	return b
}

// colorTopic writes values (by item id) to the items topic of a new
// cluster, and has a daemon of f apply them too; it returns the brokers.
func colorTopic(t *testing.T, f *fixture, values map[int64][][]byte) []string {
	t.Helper()
	ctx := context.Background()
	brokers := itemsCluster(t, 1).ListenAddrs()
	producer, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	var recs []projector.Record
	var out []*kgo.Record
	for id := int64(1); values[id] != nil; id++ {
		for _, v := range values[id] {
			key := fmt.Appendf(nil, `{"id":%d}`, id)
			recs = append(recs, projector.Record{Topic: "shop.public.items", Offset: int64(len(recs)), Key: key, Value: v})
			out = append(out, &kgo.Record{Topic: "shop.public.items", Key: key, Value: v})
		}
	}
	d := f.startDaemon()
	defer d.stop()
	if err := d.process(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if err := producer.ProduceSync(ctx, out...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	return brokers
}

// readColor makes the view of f read color, as the daemons' new file.
func readColor(f *fixture, brokers []string) {
	f.withFields("id: id, name: name, qty: qty, color: color")
	f.cfg.Kafka.Brokers = brokers
	f.startDaemon().stop()
}

// TestFromKafkaRecordsColumnTheRowsHold: a view starts to read a column
// the state never kept; the topic holds every row's record with it. The
// replay writes every row again with the column, so the rebuild records it
// as held: the documents carry it, and a rebuild from the state is
// allowed again.
func TestFromKafkaRecordsColumnTheRowsHold(t *testing.T) {
	ctx := context.Background()
	f := newFixtureYAML(t, strings.Replace(colorYAML, "%FIELDS%", "id: id, name: name, qty: qty", 1), "", "")
	values := map[int64][][]byte{}
	for id := int64(1); id <= 5; id++ {
		values[id] = [][]byte{colorChange("c", id, "red", 1000+8*id)}
	}
	brokers := colorTopic(t, f, values)
	readColor(f, brokers)

	env := f.openEnv()
	if _, err := Run(ctx, env, Options{View: "item_view", From: "kafka", Keep: 0, ReplayIdle: 5 * time.Second}); err != nil {
		t.Fatalf("rebuild --from kafka: %v", err)
	}
	var red int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM item_view WHERE color = 'red'`).Scan(&red); err != nil {
		t.Fatal(err)
	}
	if red != 5 {
		t.Errorf("after the replay %d of 5 documents have their color", red)
	}
	if cols := f.openEnv().Engine.MissingColumns(f.plan.View("item_view")); len(cols) > 0 {
		t.Errorf("after the replay the state still lacks %v", cols)
	}
	if _, err := Run(ctx, f.openEnv(), Options{View: "item_view", Keep: 0}); err != nil {
		t.Errorf("rebuild from the state after the replay: %v", err)
	}
}

// TestFromKafkaRefusesColumnRowsStillLack: each row's newest record
// carries the column as the TOAST placeholder, which keeps what the state
// held, and it held nothing: the replay leaves every row without it. The
// rebuild fails naming the column, how many rows lack it and --from
// source; its generation is aborted, readers keep the served one, and the
// column stays missing.
func TestFromKafkaRefusesColumnRowsStillLack(t *testing.T) {
	ctx := context.Background()
	f := newFixtureYAML(t, strings.Replace(colorYAML, "%FIELDS%", "id: id, name: name, qty: qty", 1), "", "")
	values := map[int64][][]byte{}
	for id := int64(1); id <= 4; id++ {
		values[id] = [][]byte{colorChange("c", id, "red", 1000+8*id), colorChange("u", id, "__debezium_unavailable_value", 2000+8*id)}
	}
	brokers := colorTopic(t, f, values)
	readColor(f, brokers)

	_, err := Run(ctx, f.openEnv(), Options{View: "item_view", From: "kafka", Keep: 0, ReplayIdle: 5 * time.Second})
	if !errors.Is(err, ErrIncompleteState) || !errors.Is(err, ErrDiscarded) {
		t.Fatalf("rebuild --from kafka: %v, want ErrIncompleteState and ErrDiscarded", err)
	}
	for _, want := range []string{"items.color (4 live rows lack it)", "--from source"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal does not say %q: %v", want, err)
		}
	}
	env := f.openEnv()
	if cols := env.Engine.MissingColumns(f.plan.View("item_view")); len(cols) != 1 || cols[0] != "items.color" {
		t.Errorf("after the refused replay the state lacks %v, want [items.color]", cols)
	}
	snap, err := env.Registry.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if g, ok := snap.Get("item_view", 2); !ok || g.State != registry.Aborted {
		t.Errorf("generation 2 is %+v, want aborted", g)
	}
	if n := snap.Serving("item_view", registry.StorePostgres); n != 1 {
		t.Errorf("readers are on generation %d, want 1", n)
	}
}

// TestRetypedColumnRefusedFromStateUntilReread: a source column's declared
// type changes (qty: bigint → numeric(10,2)) under a view reading it in an
// expression; the state rows hold the values as bigint decoded them. The
// start warns of the view, a rebuild from the state refuses, naming the
// column; one --from source decodes the rows anew and records the type:
// the documents say "1.00", the start warns no more, and a rebuild from
// the state works again.
func TestRetypedColumnRefusedFromStateUntilReread(t *testing.T) {
	ctx := context.Background()
	labelled := strings.Replace(itemsYAML, `fields: { id: id, name: name, qty: qty }`,
		`fields: { id: id, name: name, label: { expr: "string(qty)", type: text } }`, 1)
	f := newFixture(t)
	f.edit(labelled)
	srcPool, srcURL := testenv.Postgres(t)
	if _, err := srcPool.Exec(ctx, `CREATE TABLE public.items (id bigint PRIMARY KEY, name text, qty numeric(10,2));
		INSERT INTO public.items SELECT g, 'item-' || g, g FROM generate_series(1, 3) g`); err != nil {
		t.Fatal(err)
	}
	d := f.startDaemon()
	f.seed(d, 1, 3)
	d.stop()

	f.edit(labelled, "qty: bigint }", `qty: "numeric(10,2)" }`)
	wantWarning(t, f.restart(), "item_view", "items.qty")
	_, err := Run(ctx, f.openEnv(), Options{View: "item_view", Keep: 0})
	if !errors.Is(err, ErrIncompleteState) || !strings.Contains(err.Error(), "items.qty") {
		t.Fatalf("rebuild from the state: %v, want ErrIncompleteState naming items.qty", err)
	}
	if _, err := Run(ctx, f.openEnv(), Options{View: "item_view", From: "source", Keep: 0, SourceURLs: map[string]string{"items": srcURL}}); err != nil {
		t.Fatalf("rebuild --from source: %v", err)
	}
	var label string
	if err := f.pool.QueryRow(ctx, `SELECT label FROM item_view WHERE id = 1`).Scan(&label); err != nil {
		t.Fatal(err)
	}
	if label != "1.00" {
		t.Errorf("after the re-read item 1's label = %q, want \"1.00\"", label)
	}
	if logs := f.restart(); strings.Contains(logs, "items.qty") {
		t.Errorf("a start after the re-read still warns of qty: %s", logs)
	}
	if _, err := Run(ctx, f.openEnv(), Options{View: "item_view", Keep: 0}); err != nil {
		t.Errorf("rebuild from the state after the re-read: %v", err)
	}
}

// TestRenamedSourceRefusedFromStateUntilReread: a source renamed in the
// file (items → goods, the same topic) starts from an empty state, which
// a change streamed since fills in part. A rebuild from the state would
// keep only that row's document: it refuses, naming the rename, the
// statements that keep the old rows and --from source. A rebuild --from
// source reads every row into the new state: its views have them all, the
// start no longer warns, and a rebuild from the state is allowed again.
func TestRenamedSourceRefusedFromStateUntilReread(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	srcPool, srcURL := testenv.Postgres(t)
	if _, err := srcPool.Exec(ctx, `CREATE TABLE public.items (id bigint PRIMARY KEY, name text, qty bigint);
		INSERT INTO public.items SELECT g, 'item-' || g, g FROM generate_series(1, 5) g`); err != nil {
		t.Fatal(err)
	}
	d := f.startDaemon()
	f.seed(d, 1, 5)
	d.stop()

	renamed := strings.Replace(strings.Replace(itemsYAML, "  items:\n    topic: shop.public.items", "  goods:\n    topic: shop.public.items", 1),
		"from: items", "from: goods", 1)
	f.edit(renamed)
	d = f.startDaemon()
	d.lsn = 1 << 20
	if err := d.apply(ctx, map[int64]*item{3: {Name: "item-3", Qty: 3}}); err != nil {
		t.Fatal(err)
	}
	d.stop()
	wantWarning(t, f.restart(), "source goods reads topic shop.public.items, whose rows the state of source items")

	_, err := Run(ctx, f.openEnv(), Options{View: "item_view", Keep: 0})
	if !errors.Is(err, ErrRenamedSource) {
		t.Fatalf("rebuild from the state: %v, want ErrRenamedSource", err)
	}
	for _, want := range []string{"renamed from items", `ALTER TABLE "projector"."state_items" RENAME TO "state_goods"`, "--from source"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal does not say %q: %v", want, err)
		}
	}
	if _, err := Run(ctx, f.openEnv(), Options{View: "item_view", From: "source", Keep: 0, SourceURLs: map[string]string{"goods": srcURL}}); err != nil {
		t.Fatalf("rebuild --from source: %v", err)
	}
	rows, err := f.readerRows(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 {
		t.Errorf("after the re-read readers see %d documents, want 5", len(rows))
	}
	if logs := f.restart(); strings.Contains(logs, "no longer declared") {
		t.Errorf("a start after the re-read still warns of the rename: %s", logs)
	}
	if _, err := Run(ctx, f.openEnv(), Options{View: "item_view", Keep: 0}); err != nil {
		t.Errorf("rebuild from the state after the re-read: %v", err)
	}
}
