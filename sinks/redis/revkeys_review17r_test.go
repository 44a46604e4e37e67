package redis

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestR17rVolatileEvictionLiveRevs: a live doc of a view with a TTL has a
// rev key with a TTL (TTL + TombstoneTTL), which a volatile-* policy may
// evict while the doc stays; an older write then wins. Check's warning
// must say so and name the view, not only the tombstones (refusing the
// policy would refuse the default of managed services).
func TestR17rVolatileEvictionLiveRevs(t *testing.T) {
	client := privateClient(t)
	s, err := New(client, []View{{Name: "v", Key: "v:{id}", TTL: time.Hour}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.ConfigSet(t.Context(), "maxmemory-policy", "volatile-lru").Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.ConfigSet(t.Context(), "maxmemory-policy", "noeviction") })
	checkErr := s.Check(t.Context())
	write(t, s, doc("v", 1, 2, map[string]any{"a": "new"}))
	if revTTL := client.PTTL(t.Context(), s.revKey("v:1")).Val(); revTTL <= 0 {
		t.Fatalf("premise: the live doc's rev key has no TTL (%s)", revTTL)
	}
	if !errors.Is(checkErr, ErrVolatileEviction) || !strings.Contains(checkErr.Error(), `view "v" has a ttl`) {
		t.Errorf("under volatile-lru Check = %v, want the warning to name the view whose live revisions may go", checkErr)
	}
}
