package redis

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks"
)

// R29kDelAfter deletes keys of the test's that its prefix's cleanup does
// not match (they start with a hash tag).
func R29kDelAfter(t *testing.T, c *redis.ClusterClient, keys ...string) {
	t.Cleanup(func() {
		for _, k := range keys {
			c.Del(context.Background(), k)
		}
	})
}

// TestR29kClusterPurgeOtherSlotRemovesOldIndexEntries: README (Rebuild):
// when the view's Redis key changed, "the keys of the old template ... are
// purged with their revisions and index entries". On a cluster every index
// key shares its document's slot, so when the old key and the current key
// are in different slots none of the old entries can be one the document
// has under its current key: all must go. Purge keeps every one of them
// instead: the old index sets keep listing the purged documents.
func TestR29kClusterPurgeOtherSlotRemovesOldIndexEntries(t *testing.T) {
	client, prefix := testenv.RedisCluster(t)
	ctx := context.Background()
	oldTag, newTag := prefix+"a", prefix+"b"
	for n := 0; slot(oldTag) == slot(newTag); n++ {
		newTag = fmt.Sprint(prefix, "b", n)
	}
	opts := Options{RevKeyPrefix: prefix + "rev:", MembershipKeyPrefix: prefix + "ix:", TombstoneTTL: time.Hour}
	view := func(tag string) View {
		return View{Name: "orders", Key: "{{" + tag + "}}:{id}",
			Indexes: []Index{{Key: "{{" + tag + "}}:by_total", Score: "total"}}}
	}
	old, err := New(client, []View{view(oldTag)}, opts)
	if err != nil {
		t.Fatal(err)
	}
	cur, err := New(client, []View{view(newTag)}, opts)
	if err != nil {
		t.Fatal(err)
	}
	oldIndex, newIndex := "{"+oldTag+"}:by_total", "{"+newTag+"}:by_total"
	R29kDelAfter(t, client, oldIndex, newIndex, "{"+oldTag+"}:1", "{"+oldTag+"}:2", "{"+newTag+"}:1", "{"+newTag+"}:2")
	docs := func(rev int64) []sinks.Doc {
		return []sinks.Doc{
			doc("orders", 1, rev, map[string]any{"id": 1, "total": 10}),
			doc("orders", 2, rev, map[string]any{"id": 2, "total": 20}),
		}
	}
	if err := old.Write(ctx, docs(1)); err != nil { // the daemon, before the change
		t.Fatal(err)
	}
	if err := cur.Write(ctx, docs(2)); err != nil { // the rebuild's fill
		t.Fatal(err)
	}
	var keys, currents, members []string
	for _, id := range []string{"1", "2"} {
		k, err := KeyFor("{{"+oldTag+"}}:{id}", map[string]any{"id": id})
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
	if n, _ := client.Exists(ctx, keys[0]).Result(); n != 0 {
		t.Fatalf("old key %s still exists after the purge", keys[0])
	}
	if got, _ := client.ZRange(ctx, newIndex, 0, -1).Result(); len(got) != 2 {
		t.Errorf("current index %s = %v, want members 1 and 2", newIndex, got)
	}
	if got, _ := client.ZRange(ctx, oldIndex, 0, -1).Result(); len(got) != 0 {
		t.Errorf("old index %s = %v after the purge of the old keys, want its entries purged with them", oldIndex, got)
	}
}

// TestR29kClusterFieldTagEmptyValue: README (Redis Cluster): "projector
// run refuses a view whose index keys could be in another slot". New
// accepts order:{{{customer}}}:{id} with user:{{{customer}}}:orders, yet a
// customer of "" (or one starting with "}") makes both keys untagged,
// hashed whole, in different slots: the document is refused (dead
// letter) instead of written, though the view was accepted.
func TestR29kClusterFieldTagEmptyValue(t *testing.T) {
	client, prefix := testenv.RedisCluster(t)
	ctx := context.Background()
	s, err := New(client, []View{{Name: "orders", Key: prefix + "order:{{{customer}}}:{id}",
		Indexes: []Index{{Key: prefix + "user:{{{customer}}}:orders", Score: "total"}}}},
		Options{RevKeyPrefix: prefix + "rev:", MembershipKeyPrefix: prefix + "ix:", TombstoneTTL: time.Hour})
	if err != nil {
		t.Skipf("view refused at start, as the README says it may be: %v", err)
	}
	for _, customer := range []string{"", "}x"} {
		d := sinks.Doc{View: "orders", ID: "1", Rev: 1,
			Key:    map[string]any{"id": 1, "customer": customer},
			Fields: map[string]any{"id": 1, "customer": customer, "total": 5}}
		if err := s.Write(ctx, []sinks.Doc{d}); err != nil {
			t.Errorf("customer %q: Write = %v; the view was accepted on the cluster, its document refused", customer, err)
		}
	}
}
