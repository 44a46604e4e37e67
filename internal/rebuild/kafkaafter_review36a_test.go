package rebuild

// Day-2: a view starts to read a column the slim state never kept
// (README, "Changing a view in a running deployment": "rebuild the view
// --from source, kafka (when its topics still hold every row ...) or
// signal, which reads the rows again and records the columns as held").

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// r36aColorEnvelope is a Debezium PostgreSQL create of an item with a
// color, without schema.
func r36aColorEnvelope(id int64, color string, lsn int64) []byte {
	return r36aColorChange("c", id, fmt.Sprintf("item-%d", id), color, lsn)
}

// r36aColorChange is a Debezium PostgreSQL change (op c or u) of an item.
func r36aColorChange(op string, id int64, name, color string, lsn int64) []byte {
	b, _ := json.Marshal(map[string]any{
		"source": map[string]any{"version": "2.7.3.Final", "connector": "postgresql", "name": "shop",
			"ts_ms": 1790710562903, "snapshot": "false", "db": "shop", "schema": "public", "table": "items",
			"txId": lsn, "lsn": lsn},
		"op": op, "before": nil, "ts_ms": 1790710563391,
		"after": map[string]any{"id": id, "name": name, "qty": id, "color": color},
	})
	return b
}

// TestR36aFromKafkaAfterFromSourceLeavesColumnNull: the items topic still
// holds every row (no retention, every partition starts at offset 0), each
// record carrying the row's color; the view did not read color, so the
// state kept none. Once, the view was rebuilt --from source (a source
// database restored, say): every state row then holds the position of the
// source snapshot's read, newer than any record of the topic.
//
// The view then starts to read color. run warns, validate says "needs a
// rebuild --from source, kafka or signal", and the operator picks kafka.
// The replay skips every record as older than what the state holds
// (replay.go: "a replayed change older than what it holds is skipped"),
// yet the replay counts as a whole re-read (every partition starts at 0),
// so Engine.Reread records color as held by every row; the fill computes
// every document with color null, the verification agrees with the state,
// and the generation is swapped in. From then on nothing says anything:
// start and validate are silent, and a rebuild from the state is allowed.
//
// Expected: after a successful `rebuild --from kafka`, the documents hold
// the colors the topic's records carry, or the rebuild refuses (as it does
// when retention took records), naming the column.
func TestR36aFromKafkaAfterFromSourceLeavesColumnNull(t *testing.T) {
	ctx := context.Background()
	kc := itemsCluster(t, 1)
	brokers := kc.ListenAddrs()
	f := newFixtureYAML(t, strings.Replace(colorYAML, "%FIELDS%", "id: id, name: name, qty: qty", 1), "", "")
	f.cfg.Kafka.Brokers = brokers

	srcPool, srcURL := testenv.Postgres(t)
	if _, err := srcPool.Exec(ctx, `CREATE TABLE public.items (id bigint PRIMARY KEY, name text, qty bigint, color text);
		INSERT INTO public.items SELECT g, 'item-' || g, g, 'red' FROM generate_series(1, 10) g`); err != nil {
		t.Fatal(err)
	}

	// The stream, in Kafka and applied by a daemon.
	producer, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	d := f.startDaemon()
	var recs []projector.Record
	var out []*kgo.Record
	for id := int64(1); id <= 10; id++ {
		key, value := fmt.Appendf(nil, `{"id":%d}`, id), r36aColorEnvelope(id, "red", 1000+8*id)
		recs = append(recs, projector.Record{Topic: "shop.public.items", Offset: id - 1, Key: key, Value: value})
		out = append(out, &kgo.Record{Topic: "shop.public.items", Key: key, Value: value})
	}
	if err := d.process(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if err := producer.ProduceSync(ctx, out...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	d.stop()

	// A rebuild --from source, with the file of then.
	if _, err := Run(ctx, f.openEnv(), Options{View: "item_view", From: "source", Keep: 0,
		SourceURLs: map[string]string{"items": srcURL}}); err != nil {
		t.Fatalf("rebuild --from source: %v", err)
	}

	// The view now reads color: the state lacks it, and is re-read from
	// Kafka.
	f.withFields("id: id, name: name, qty: qty, color: color")
	f.cfg.Kafka.Brokers = brokers
	d = f.startDaemon() // the daemons run the new file (the table gains color)
	d.stop()
	env := f.openEnv()
	if cols := env.Engine.MissingColumns(f.plan.View("item_view")); len(cols) != 1 || cols[0] != "items.color" {
		t.Fatalf("before the re-read the state lacks %v, want [items.color]", cols)
	}
	res, err := Run(ctx, env, Options{View: "item_view", From: "kafka", Keep: 0, ReplayIdle: 5 * time.Second})
	if err != nil {
		t.Logf("rebuild --from kafka refused: %v", err)
		return
	}
	var null int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM item_view WHERE color IS NULL`).Scan(&null); err != nil {
		t.Fatal(err)
	}
	if null > 0 {
		t.Errorf("after `rebuild --from kafka` (replayed %d records of a topic holding every row, each with its color) "+
			"%d of 10 documents have color null: the replay skipped every record as older than the --from source read, "+
			"and recorded the column as held all the same", res.Replayed, null)
	}
	if cols := f.openEnv().Engine.MissingColumns(f.plan.View("item_view")); len(cols) == 0 && null > 0 {
		t.Errorf("and the state now claims every row holds color: no start, validate or rebuild from the state will say otherwise")
	}
}

// TestR36aFromKafkaToastedColumnStaysNull: the same replay without any
// --from source. color is a TOASTed column (a long text, REPLICA IDENTITY
// DEFAULT): each item was created with its color, then updated (a rename)
// without touching it, so Debezium sent the update with color as
// __debezium_unavailable_value. The view starts to read color, which the
// slim state never kept; the topic holds every record (nothing trimmed)
// and the operator rebuilds --from kafka, as README advises.
//
// The replay skips each create as older than the state row (whose position
// is the update's), applies the update again, whose placeholder "keeps the
// stored value", and the state has none: every document gets color null,
// while Reread records color as held by every row.
//
// Expected: the documents hold the colors the topic's creates carry (the
// replay must take a column the state lacks from an older record of the
// row), or the rebuild refuses, naming the column.
func TestR36aFromKafkaToastedColumnStaysNull(t *testing.T) {
	ctx := context.Background()
	kc := itemsCluster(t, 1)
	brokers := kc.ListenAddrs()
	f := newFixtureYAML(t, strings.Replace(colorYAML, "%FIELDS%", "id: id, name: name, qty: qty", 1), "", "")
	f.cfg.Kafka.Brokers = brokers
	producer, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	d := f.startDaemon()
	var recs []projector.Record
	var out []*kgo.Record
	add := func(id int64, value []byte) {
		key := fmt.Appendf(nil, `{"id":%d}`, id)
		recs = append(recs, projector.Record{Topic: "shop.public.items", Offset: int64(len(recs)), Key: key, Value: value})
		out = append(out, &kgo.Record{Topic: "shop.public.items", Key: key, Value: value})
	}
	for id := int64(1); id <= 5; id++ {
		add(id, r36aColorChange("c", id, fmt.Sprintf("item-%d", id), "red", 1000+8*id))
	}
	for id := int64(1); id <= 5; id++ {
		add(id, r36aColorChange("u", id, "renamed", "__debezium_unavailable_value", 2000+8*id))
	}
	if err := d.process(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if err := producer.ProduceSync(ctx, out...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	d.stop()

	f.withFields("id: id, name: name, qty: qty, color: color")
	f.cfg.Kafka.Brokers = brokers
	d = f.startDaemon()
	d.stop()
	res, err := Run(ctx, f.openEnv(), Options{View: "item_view", From: "kafka", Keep: 0, ReplayIdle: 5 * time.Second})
	if err != nil {
		t.Logf("rebuild --from kafka refused: %v", err)
		return
	}
	var null int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM item_view WHERE color IS DISTINCT FROM 'red'`).Scan(&null); err != nil {
		t.Fatal(err)
	}
	if null > 0 {
		t.Errorf("after `rebuild --from kafka` (replayed %d records; each item's create carries color red, its later update the TOAST placeholder) "+
			"%d of 5 documents lack their color, and the state is recorded as holding it", res.Replayed, null)
	}
}
