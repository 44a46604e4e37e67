package rebuild

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/projector"
)

// r37aLabelYAML is colorYAML whose view reads qty only in an expression,
// qty declared as typ.
func r37aLabelYAML(typ string) string {
	y := strings.Replace(colorYAML, "%FIELDS%", `id: id, name: name, label: { expr: "string(qty)", type: text }`, 1)
	return strings.Replace(y, "qty: bigint", `qty: "`+typ+`"`, 1)
}

// r37aUse compiles yaml on the fixture's stores, with brokers.
func (f *fixture) r37aUse(yaml string, brokers []string) {
	f.t.Helper()
	env := map[string]string{"PG": f.cfg.Stores.Postgres.URL, "REDIS": f.cfg.Stores.Redis.URL, "PREFIX": f.prefix}
	cfg, err := config.Parse("test.yaml", []byte(yaml), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		f.t.Fatalf("config:\n%v", err)
	}
	if brokers != nil {
		cfg.Kafka.Brokers = brokers
	}
	if f.plan, err = projections.Compile(cfg); err != nil {
		f.t.Fatalf("plan:\n%v", err)
	}
	f.cfg = cfg
}

// TestR37aRereadBesideInstanceOfOtherReadTypes: qty, read by the view
// only in an expression, is retyped bigint → numeric(10,2). A daemon still
// runs the previous file (a rolling deploy in progress) when the operator
// rebuilds the view --from kafka with the new one, as run and validate
// say to. README: "a rebuild refuses to start while one computes the
// view's documents by another definition than the rebuild's file" — and
// the definition now records the declared types read. But the instances'
// fingerprint leaves Reads out (DocumentsFingerprint), so the rebuild goes
// ahead: the old daemon keeps writing state rows decoded as bigint (and
// their documents, "7" where the new file gives "7.00") since the re-read
// began, which the re-read's check counts as filled, and the swap records
// qty as held with its new type. From then on no start, validate or
// rebuild from the state tells that the rows the old daemon wrote hold the
// old decoding.
func TestR37aRereadBesideInstanceOfOtherReadTypes(t *testing.T) {
	ctx := context.Background()
	f := newFixtureYAML(t, r37aLabelYAML("bigint"), "", "")
	values := map[int64][][]byte{}
	for id := int64(1); id <= 3; id++ {
		values[id] = [][]byte{colorChange("c", id, "red", 1000+8*id)}
	}
	brokers := colorTopic(t, f, values)
	old := f.startDaemon() // still on the bigint file

	f.r37aUse(r37aLabelYAML("numeric(10,2)"), brokers)
	f.startDaemon().stop() // the new file deployed to another instance
	_, err := Run(ctx, f.openEnv(), Options{View: "item_view", From: "kafka", Keep: 0, ReplayIdle: 5 * time.Second})
	if errors.Is(err, ErrOtherDefinition) {
		return // right: it names the daemon still decoding qty as bigint
	}
	if err != nil {
		t.Fatalf("rebuild --from kafka: %v", err)
	}
	// The old daemon goes on: item 2 changes.
	if err := old.process(ctx, []projector.Record{{Topic: "shop.public.items", Offset: 100,
		Key: []byte(`{"id":2}`), Value: colorChange("u", 2, "blue", 1<<20)}}); err != nil {
		t.Fatal(err)
	}
	old.stop()
	var label, held string
	if err := f.pool.QueryRow(ctx, `SELECT (SELECT label FROM item_view WHERE id = 2), (SELECT data->>'qty' FROM projector.state_items WHERE key = '2' OR data->>'id' = '2' LIMIT 1)`).Scan(&label, &held); err != nil {
		t.Fatal(err)
	}
	missing := f.openEnv().Engine.MissingColumns(f.plan.View("item_view"))
	// The same change under the new file, for comparison.
	cur := f.startDaemon()
	if err := cur.process(ctx, []projector.Record{{Topic: "shop.public.items", Offset: 101,
		Key: []byte(`{"id":3}`), Value: colorChange("u", 3, "blue", 1<<21)}}); err != nil {
		t.Fatal(err)
	}
	cur.stop()
	var label3 string
	if err := f.pool.QueryRow(ctx, `SELECT label FROM item_view WHERE id = 3`).Scan(&label3); err != nil {
		t.Fatal(err)
	}
	t.Errorf("rebuild --from kafka with qty numeric(10,2) went ahead while a daemon decoding qty as bigint ran (want ErrOtherDefinition); "+
		"that daemon then wrote item 2: label %q, state qty %s (item 3, changed under the new file: label %q), and the state is recorded as holding qty as numeric(10,2): missing %v",
		label, held, label3, missing)
}
