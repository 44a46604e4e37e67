package rebuild

// Day-2: a field added to a view with an Elasticsearch sink (README,
// "Changing a view": "fields only added ... are notes (exit 0)";
// "The stores": a jsonb field is mapped as an object with "enabled":
// false, which takes any JSON value).

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/sinks/elasticsearch/esfake"
)

// TestR36aAddedJSONBFieldRefusedByServedIndex: a jsonb field is added to
// item_view, whose served Elasticsearch index items-g1 was created with
// the earlier fields' mappings. The change is "fields added", a note that
// needs no rebuild (validate exits 0), and run writes the new field at
// once into items-g1, where Elasticsearch maps it dynamically from the
// first document it sees ({"a": 1}: meta.a a long), not as the generated
// {"type": "object", "enabled": false} that takes any jsonb. The next
// document whose meta.a is text ({"a": "item-5"}, valid jsonb, which a
// generation built by a rebuild takes) is refused by the served index:
// set aside as a refused document, missing from Elasticsearch readers.
//
// Expected: a field added to a view with an Elasticsearch sink reaches
// the served index with its generated mapping (PUT _mapping of the added
// fields before writing them), or validate and run say that the view
// needs `projector rebuild VIEW --sinks es` rather than "applies online".
func TestR36aAddedJSONBFieldRefusedByServedIndex(t *testing.T) {
	ctx := context.Background()
	es := esfake.New()
	es.Start()
	t.Cleanup(es.Close)
	f := newFixtureWith(t, "", es.URL())
	d := f.startDaemon()
	f.seed(d, 1, 2)
	d.stop()

	f.edit(strings.ReplaceAll(itemsYAML, "${ES:-}", es.URL()), `fields: { id: id, name: name, qty: qty }`,
		`fields: { id: id, name: name, qty: qty, meta: { expr: '{"a": qty > 2 ? name : qty}', type: jsonb } }`)
	drift, err := stack.CompareDefinitions(ctx, f.openEnv().Registry, f.cfg, f.plan)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range drift.Changes {
		if c.NeedsRebuild() {
			t.Logf("validate says item_view needs a rebuild: %v", c.Texts(true))
			return
		}
	}
	d = f.startDaemon()
	d.lsn = 1 << 20
	err = d.apply(ctx, map[int64]*item{1: {Name: "item-1", Qty: 1}})
	if err == nil {
		err = d.apply(ctx, map[int64]*item{5: {Name: "item-5", Qty: 5}})
	}
	if err != nil {
		t.Logf("apply: %v", err)
	}
	d.stop()
	esGet(t, es.URL()+"/items/_refresh")
	got := esGet(t, es.URL()+"/items/_doc/5")
	var doc struct {
		Found bool `json:"found"`
	}
	if e := json.Unmarshal([]byte(got), &doc); e != nil || !doc.Found {
		t.Errorf("after adding the jsonb field meta (validate: a note, applies online), item 5's document, meta {\"a\": \"item-5\"}, "+
			"is not in Elasticsearch (the served index mapped meta.a dynamically as a long from item 1's {\"a\": 1}):\n%s\napply: %v", got, err)
	}
	if t.Failed() {
		t.Logf("items-g1 as the daemon left it: %s", esGet(t, es.URL()+"/items-g1"))
	}
	// A generation the rebuild makes, with the generated mapping, takes it.
	if _, err := Run(ctx, f.openEnv(), Options{View: "item_view", Keep: 0, Stores: []string{"elasticsearch"}}); err != nil {
		t.Fatalf("rebuild --sinks es: %v", err)
	}
	esGet(t, es.URL()+"/items/_refresh")
	if got := esGet(t, es.URL()+"/items/_doc/5"); !strings.Contains(got, `"found":true`) {
		t.Errorf("after rebuild --sinks es, item 5: %s", got)
	}
}
