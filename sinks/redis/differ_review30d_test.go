package redis

import (
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks"
)

// TestR30dDifferHashWithIndexes: a rebuild's verification (Differ) of a
// hash view with indexes must find a doc just written by Write identical
// to what Write stores. The index entries (member, count, key/score pairs)
// are script arguments, not hash fields.
func TestR30dDifferHashWithIndexes(t *testing.T) {
	client, prefix := testenv.Redis(t)
	s := newIndexSink(t, client, prefix, FormatHash)
	docs := []sinks.Doc{order(1, 5, "42", "2024-05-01T10:00:00Z", "12.50")}
	write(t, s, docs...)
	got, err := client.HGetAll(t.Context(), prefix+"order:1").Result()
	if err != nil || len(got) == 0 {
		t.Fatalf("HGETALL = %v, %v", got, err)
	}
	bad, err := s.Differ(t.Context(), docs)
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) != 0 {
		t.Errorf("Differ on a doc as written = %v, want no difference (hash holds %v)", bad, got)
	}
}
