package redis

import (
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks"
)

// TestR33bDifferWrongTypeFailsWholeBatch: Differ "returns why each doc
// that differs does, by its index in docs", and differs() has a per-doc
// answer for a key it cannot read ("cannot read it: …"). But Differ first
// checks the pipeline's error, which go-redis sets to the FIRST failed
// command's: redis.Nil is let through, anything else fails the whole call.
// So a doc key holding another type (a hash left by a format change or by
// another tool) is a per-doc difference when some command before it
// missed (an absent rev key), and an error for the whole batch when none
// did. The rebuild's verification (rebuild.redisChecker.check) then fails
// outright ("verify … in redis: redis sink: read back: WRONGTYPE …")
// instead of taking the doc as a suspect to settle or to name, depending
// only on the order of the docs. Expected: the same per-doc answer in both
// cases, and no error.
func TestR33bDifferWrongTypeFailsWholeBatch(t *testing.T) {
	client, prefix := testenv.Redis(t)
	s := newSink(t, client, prefix, View{Name: "d", Key: prefix + "d:{id}"})
	ctx := t.Context()
	one := doc("d", 1, 1, map[string]any{"id": 1, "name": "a"})
	two := doc("d", 2, 1, map[string]any{"id": 2, "name": "b"})
	write(t, s, one)
	// Doc 1's key now holds a hash; its rev key is still there. Doc 2 was
	// never written: its reads miss.
	client.Del(ctx, prefix+"d:1")
	if err := client.HSet(ctx, prefix+"d:1", "name", "a").Err(); err != nil {
		t.Fatal(err)
	}

	// A miss first: the wrong type is reported for doc 1 alone.
	bad, err := s.Differ(ctx, []sinks.Doc{two, one})
	if err != nil {
		t.Fatalf("Differ(missing doc, wrong-type doc) = %v", err)
	}
	if !strings.Contains(bad[1], "WRONGTYPE") || !strings.HasPrefix(bad[0], "key missing") {
		t.Fatalf("Differ(missing doc, wrong-type doc) = %v, want doc 0 missing and doc 1 unreadable", bad)
	}

	// The same two docs the other way round.
	bad, err = s.Differ(ctx, []sinks.Doc{one, two})
	if err != nil {
		t.Fatalf("Differ(wrong-type doc, missing doc) fails the whole batch: %v; want doc 0 unreadable and doc 1 missing, as in the other order", err)
	}
	if !strings.Contains(bad[0], "WRONGTYPE") || !strings.HasPrefix(bad[1], "key missing") {
		t.Errorf("Differ(wrong-type doc, missing doc) = %v", bad)
	}
}
