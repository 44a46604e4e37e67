package redis

import (
	"context"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks"
)

// TestPurgeKeepsCurrentIndexEntries: a view's key template changed
// (order:{id} -> order2:{id}) but its index templates did not. The rebuild's
// fill rewrites every doc under the new key (so the index sorted sets hold
// the doc ids again, recorded in the new key's membership set), and only
// then does sweepTemplates purge the old keys. The index sets the old
// membership set names are the same sorted sets, with the same member (the
// doc id): the purge must leave the entries the current key has.
func TestPurgeKeepsCurrentIndexEntries(t *testing.T) {
	client, prefix := testenv.Redis(t)
	ctx := context.Background()
	old := newIndexSink(t, client, prefix, FormatJSON) // key order:{id}
	cur, err := New(client, []View{{
		Name: "orders", Key: prefix + "order2:{id}", Format: FormatJSON,
		Indexes: []Index{
			{Key: prefix + "user:{customer.id}:orders", Score: "created_at"},
			{Key: prefix + "orders:by_total", Score: "total"},
		},
	}}, Options{RevKeyPrefix: prefix + "rev:", MembershipKeyPrefix: prefix + "ix:", TombstoneTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	// The daemon wrote under the old template.
	if err := old.Write(ctx, []sinks.Doc{order(1, 1, "u1", "2026-01-01T00:00:00Z", 10), order(2, 1, "u1", "2026-01-02T00:00:00Z", 20)}); err != nil {
		t.Fatal(err)
	}
	// The rebuild's fill writes under the new one (next revisions).
	if err := cur.Write(ctx, []sinks.Doc{order(1, 2, "u1", "2026-01-01T00:00:00Z", 10), order(2, 2, "u1", "2026-01-02T00:00:00Z", 20)}); err != nil {
		t.Fatal(err)
	}
	// sweepTemplates then purges the keys of the old template.
	var keys, currents, members []string
	for _, id := range []string{"1", "2"} {
		k, err := KeyFor(prefix+"order:{id}", map[string]any{"id": id})
		if err != nil {
			t.Fatal(err)
		}
		now, err := cur.Key("orders", map[string]any{"id": id})
		if err != nil {
			t.Fatal(err)
		}
		keys, currents, members = append(keys, k), append(currents, now), append(members, id)
	}
	if err := cur.Purge(ctx, keys, currents, members); err != nil {
		t.Fatal(err)
	}
	if n, _ := client.Exists(ctx, prefix+"order2:1", prefix+"order2:2").Result(); n != 2 {
		t.Fatalf("current docs: %d of 2 exist", n)
	}
	z := zsets(t, client, prefix+"user:u1:orders", prefix+"orders:by_total")
	for _, ix := range []string{prefix + "user:u1:orders", prefix + "orders:by_total"} {
		if len(z[ix]) != 2 {
			t.Errorf("index %s = %v after the purge, want members 1 and 2 (the docs under the current template)", ix, z[ix])
		}
	}
}
