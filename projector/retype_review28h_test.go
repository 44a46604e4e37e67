package projector_test

import (
	"testing"

	"github.com/projectorhq/projector/projector"
)

// TestR28hJSONColumnAsTextSameInEveryStore: README ("A column field with
// its own type: is held to it by the same rules, in every store"): a jsonb
// or array column given `type: text` is its JSON text in PostgreSQL (the
// sink's jsonb_to_recordset gives a text column an object's or array's
// JSON text) but stays an object / array in Redis: exprResult passes maps
// and slices through whatever the type.
func TestR28hJSONColumnAsTextSameInEveryStore(t *testing.T) {
	pgDoc, redisDoc := r28gStores(t, `
sources:
  o: { topic: t.public.o, key: id, columns: { id: bigint, meta: jsonb, tags: "text[]" } }
views:
  v:
    from: o
    fields:
      id: id
      a: { column: meta, type: text }
      b: { column: tags, type: text }
    sinks: { postgres: {}, redis: { key: "PREFIXv:{id}" } }
`, func(r *reviewRig) []projector.Record {
		return []projector.Record{r.rec("o", "c", m("id", 1), nil,
			m("id", 1, "meta", `{"x":1}`, "tags", []any{"p", "q"}), 0)}
	}, "1")
	for _, f := range []string{"a", "b"} {
		if !r28gSame(pgDoc[f], redisDoc[f]) {
			t.Errorf("field %s: PostgreSQL holds %s, Redis %s; want the same value (the JSON text) in every store", f, show28g(pgDoc[f]), show28g(redisDoc[f]))
		}
	}
}
