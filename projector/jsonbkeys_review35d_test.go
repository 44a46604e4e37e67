package projector_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
)

// r35dRow is a row as the decoder gives it (numbers as json.Number).
func r35dRow(t *testing.T, s string) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader([]byte(s)))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

const r35dKeysYAML = `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://unused/x" } }
sources:
  users: { topic: t.public.users, format: json, key: id, columns: { id: bigint, info: jsonb } }
views:
  v:
    from: users
    fields:
      id: id
      names: { expr: "keys(info)", type: jsonb }
      vals: { expr: "values(info)", type: jsonb }
    sinks: { postgres: {} }
`

// TestR35dKeysOfJSONBAreDeterministic: keys(info) and values(info) over a
// jsonb object (validate types a jsonb as any, so they check) come in Go's
// random map order: documents of identical rows get different arrays, and
// every recompute of one document (a change, a fan-out, a refresh, a
// rebuild) may write another value, on PostgreSQL as in projector test,
// which cannot expect one. PostgreSQL's jsonb_object_keys gives one order
// (jsonb's own); any fixed order would do, but one.
func TestR35dKeysOfJSONBAreDeterministic(t *testing.T) {
	for _, memory := range []bool{true, false} {
		t.Run(fmt.Sprintf("memory=%v", memory), func(t *testing.T) {
			sink, change := newChangeRig(t, r35dKeysYAML, memory)
			var rows []map[string]any
			for i := 1; i <= 30; i++ {
				rows = append(rows, r35dRow(t, fmt.Sprintf(`{"id": %d, "info": {"a": 1, "bb": 2, "c": 3, "dd": 4, "e": 5, "ff": 6}}`, i)))
			}
			change("users", rows...)
			sink.mu.Lock()
			defer sink.mu.Unlock()
			seen := map[string]int{}
			for i := 1; i <= 30; i++ {
				d := sink.docs[fmt.Sprintf("v/%d", i)]
				seen[fmt.Sprint(d.Fields["names"], d.Fields["vals"])]++
			}
			if len(seen) != 1 {
				t.Errorf("30 documents of the same jsonb give %d different keys()/values() results: %v", len(seen), seen)
			}
		})
	}
}
