package redis

import (
	"context"
	"slices"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks"
)

// TestPurge: documents written under a key template the view no longer has
// are deleted with their rev keys and index memberships; the others stay.
func TestPurge(t *testing.T) {
	client, prefix := testenv.Redis(t)
	s := newIndexSink(t, client, prefix, FormatJSON)
	ctx := context.Background()
	docs := []sinks.Doc{
		order(1, 1, "u1", "2026-01-01T00:00:00Z", 10),
		order(2, 1, "u1", "2026-01-02T00:00:00Z", 20),
		order(3, 1, "u2", "2026-01-03T00:00:00Z", 30),
	}
	if err := s.Write(ctx, docs); err != nil {
		t.Fatal(err)
	}
	// Documents 1 and 2 now live under "o2:{id}", which has no index
	// entries yet: every entry of their old keys goes.
	var keys, currents, members []string
	for _, id := range []string{"1", "2"} {
		k, err := KeyFor(prefix+"order:{id}", map[string]any{"id": id})
		if err != nil {
			t.Fatal(err)
		}
		keys, currents, members = append(keys, k), append(currents, prefix+"o2:"+id), append(members, id)
	}
	if err := s.Purge(ctx, keys, currents, members); err != nil {
		t.Fatalf("Purge: %v", err)
	}
	left, err := client.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(left)
	want := []string{prefix + "ix:{" + prefix + "order:3}", prefix + "order:3", prefix + "orders:by_total",
		prefix + "rev:{" + prefix + "order:3}", prefix + "user:u2:orders"}
	slices.Sort(want)
	if !slices.Equal(left, want) {
		t.Errorf("keys left:\n %q\nwant\n %q", left, want)
	}
	z := zsets(t, client, prefix+"orders:by_total")
	if got := z[prefix+"orders:by_total"]; len(got) != 1 || got["3"] != 30 {
		t.Errorf("orders:by_total = %v, want only 3", got)
	}

	match, err := Matcher(prefix + "order:{id}")
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]bool{prefix + "order:7": true, prefix + "order:": false, prefix + "orders:7": false, "x" + prefix + "order:7": false} {
		if match(key) != want {
			t.Errorf("Matcher(order:{id})(%q) = %v, want %v", key, !want, want)
		}
	}
}
