package rebuild

import (
	"context"
	"strings"
	"testing"
)

// TestGroupByFieldNamedN: a view field may be named as the verification's
// own columns are (n, id, rev); its rebuild verifies and swaps.
func TestGroupByFieldNamedN(t *testing.T) {
	f := newFixtureYAML(t, strings.Replace(groupsYAML, "rows: { agg: count }", "n: { agg: count }", 1), "", "")
	d := f.startDaemon()
	changes := map[int64]*item{}
	for id := int64(1); id <= 12; id++ {
		changes[id] = &item{Name: []string{"a", "b", "c"}[id%3], Qty: id}
	}
	if err := d.apply(context.Background(), changes); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), f.openEnv(), Options{View: "name_view", Keep: 0}); err != nil {
		t.Fatal(err)
	}
}
