package projector_test

import (
	"context"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

// TestKeysOfDeadLetters: a rebuild --from signal deletes the rows no
// snapshot record carried. A snapshot record whose value is a dead letter
// (a BC date, say) still carries its row: Keys names it, by its key, so
// that the row is not deleted as gone from the source.
func TestKeysOfDeadLetters(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, `
version: 1
kafka: { brokers: "localhost:9092", group: g }
stores: { postgres: { url: "postgres://unused" } }
sources:
  items: { topic: shop.public.items, key: id, columns: { id: bigint, day: date } }
views:
  v:
    from: items
    fields: { id: id, day: day }
    sinks: { postgres: {} }
`, nil)
	eng := newEngine(t, pool, plan, &memSink{docs: map[string]sinks.Doc{}}, nil)
	recs := []projector.Record{
		{Topic: "shop.public.items", Offset: 1, Key: []byte(`{"id":1}`),
			Value: []byte(`{"op":"r","source":{"connector":"postgresql","lsn":5,"snapshot":"incremental"},"after":{"id":1,"day":19724}}`)},
		{Topic: "shop.public.items", Offset: 2, Key: []byte(`{"id":2}`),
			Value: []byte(`{"op":"r","source":{"connector":"postgresql","lsn":5,"snapshot":"incremental"},"after":{"id":2,"day":"not a date"}}`)},
		{Topic: "shop.public.items", Offset: 3, Key: []byte(`not a key`), Value: []byte(`not a record`)},
	}
	keys, err := eng.Keys(context.Background(), recs)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range keys["items"] {
		got = append(got, r.Key)
	}
	if len(got) != 2 || got[0] != "1" || got[1] != "2" {
		t.Errorf("Keys = %q, want [1 2]: the dead letter's row named by its key, the unreadable record's by none", got)
	}
}
