package projector_test

import (
	"fmt"
	"testing"

	"github.com/projectorhq/projector/projector"
)

// A join on jsonb columns holding arrays and objects: the PostgreSQL state
// compares data->>'k', jsonb's own text ({"a": 1, "bb": [1, 2]}), so the
// engine's text of the key must be that too, not Go's encoding.
const jsonbJoinConfig = `
version: 1
kafka: { brokers: "localhost:9092", group: g }
stores: { postgres: { url: "postgres://unused" } }
sources:
  a: { topic: t.a, key: id, columns: { id: bigint, k: jsonb } }
  b: { topic: t.b, key: id, columns: { id: bigint, k: jsonb, name: text } }
views:
  v:
    from: a
    fields:
      id: id
      other: { one: b, on: { k: k }, fields: { name: name } }
    sinks: { postgres: {} }
`

func jsonbRecord(topic string, id, lsn int, after string) projector.Record {
	return projector.Record{Topic: topic, Key: []byte(fmt.Sprintf(`{"id":%d}`, id)),
		Value: []byte(fmt.Sprintf(`{"op":"c","source":{"connector":"postgresql","lsn":%d},"after":%s}`, lsn, after))}
}

// TestJoinOnJSONBValues: such a join matches, and a change of the joined
// row reaches the document, in both states.
func TestJoinOnJSONBValues(t *testing.T) {
	for _, k := range []string{
		`[1,2]`,
		`{"bb":[1,2.50,"x\u003c"],"a":{"z":null,"y":true}}`,
		`[1e2,-0.0,"tab\there"]`,
	} {
		t.Run(k, func(t *testing.T) {
			quoted := fmt.Sprintf("%q", k)
			recs := []projector.Record{
				jsonbRecord("t.b", 5, 10, `{"id":5,"k":`+quoted+`,"name":"joined"}`),
				jsonbRecord("t.a", 1, 20, `{"id":1,"k":`+quoted+`}`),
				jsonbRecord("t.b", 5, 30, `{"id":5,"k":`+quoted+`,"name":"renamed"}`), // fans out to a's doc
			}
			mongoWant(t, mongoRun(t, jsonbJoinConfig, recs, "1"), `{"id":1,"other":{"name":"renamed"}}`)
		})
	}
}
