package rebuild

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestPickStores: the stores asked of a rebuild (--sinks) are checked
// against the view's. A name that is no store, and a store the view has no
// sink in, are unknown stores (they were reported as an unknown view); a
// store the view has a sink in but whose URL is empty (its sinks are off)
// is said to be not configured. The fixture has no Elasticsearch URL.
func TestPickStores(t *testing.T) {
	env := newFixture(t).openEnv()
	pgOnly := newFixtureYAML(t, strings.Replace(itemsYAML, `      redis: { key: "${PREFIX}item:{id}" }
`, "", 1), "", "").openEnv()
	for _, c := range []struct {
		name string
		env  *Env
		want []string
		got  []string
		err  error
		text string
	}{
		{"all", env, nil, []string{"postgres", "redis"}, nil, ""},
		{"some, in the fixed order", env, []string{"redis", "postgres"}, []string{"postgres", "redis"}, nil, ""},
		{"no such store", env, []string{"bogus"}, nil, ErrUnknownStore, `unknown store "bogus": use postgres (pg), redis or elasticsearch (es)`},
		{"store switched off", env, []string{"elasticsearch"}, nil, ErrStoreNotConfigured, "stores.elasticsearch.url is empty"},
		{"no sink in the store", pgOnly, []string{"redis"}, nil, ErrUnknownStore, `unknown store "redis" for view item_view: it has no redis sink (its sinks: postgres, elasticsearch)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.env.PickStores("item_view", c.want)
			if !slices.Equal(got, c.got) || !errors.Is(err, c.err) || c.err == nil && err != nil {
				t.Fatalf("PickStores(%v) = %v, %v; want %v, %v", c.want, got, err, c.got, c.err)
			}
			if errors.Is(err, ErrUnknownView) {
				t.Errorf("PickStores(%v): %v reads as an unknown view", c.want, err)
			}
			if err != nil && !strings.Contains(err.Error(), c.text) {
				t.Errorf("PickStores(%v): %q, want it to say %q", c.want, err, c.text)
			}
		})
	}
}

// groupsYAML is a group_by view over the items: one document per name.
const groupsYAML = `
version: 1
kafka: { brokers: "localhost:1", group: items }
stores:
  postgres: { url: "${PG}" }
sources:
  items:
    topic: shop.public.items
    key: id
    columns: { id: bigint, name: text, qty: bigint }
views:
  name_view:
    from: items
    group_by: name
    fields:
      name: name
      rows: { agg: count }
    sinks:
      postgres: { table: name_view }
`

// TestGroupByDocsTotal: a group_by view has a document per group, not per
// state row: the generation's estimate (progress, the log's docs, the
// DOCS column while building) counts the groups, as the fill does; it
// counted the rows.
func TestGroupByDocsTotal(t *testing.T) {
	f := newFixtureYAML(t, groupsYAML, "", "")
	d := f.startDaemon()
	changes := map[int64]*item{}
	for id := int64(1); id <= 40; id++ {
		changes[id] = &item{Name: []string{"a", "b", "c", "d"}[id%4], Qty: id}
	}
	changes[41] = nil // a deleted row is no group
	if err := d.apply(context.Background(), changes); err != nil {
		t.Fatal(err)
	}
	env := f.openEnv()
	res, err := Run(context.Background(), env, Options{View: "name_view", Keep: 0})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := env.Registry.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	g, _ := snap.Get("name_view", res.Generation)
	if g.DocsTotal != 4 || res.Filled != 4 {
		t.Errorf("group_by view of 40 rows in 4 groups: docs total %d, filled %d; want 4 and 4", g.DocsTotal, res.Filled)
	}
}
