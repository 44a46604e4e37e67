package projector_test

// Hostile review 12j: joins between integer and float columns, and between
// real and double precision columns, compare the values' text, not as
// PostgreSQL's = compares them (as float8):
//
//   SELECT 9007199254740993::bigint = 9007199254740992::float8  -- true
//   SELECT 0.1::real = 0.1::float8                             -- false
//
// The README ("A view in YAML") says so; these tests hold both states to
// what it says.

import (
	"testing"

	"github.com/projectorhq/projector/projector"
)

const r12jFloatJoinYAML = `
sources:
  orders: { topic: t.public.orders, format: json, key: id, columns: { id: bigint, ref: bigint, weight: real } }
  codes: { topic: t.public.codes, format: json, key: id, columns: { id: bigint, code: double precision, w: double precision, name: text } }
views:
  order_view:
    from: orders
    fields:
      id: id
      by_code: { one: codes, on: { code: ref }, column: name }
      by_weight: { one: codes, on: { w: weight }, column: name }
    sinks: { postgres: {} }
`

// TestR12jJoinBigintToDoubleBeyond2p53: a bigint of 2^53+1 does not match
// the double precision 2^53, whose text is another integer.
func TestR12jJoinBigintToDoubleBeyond2p53(t *testing.T) {
	r := newReviewRig(t, r12jFloatJoinYAML, true)
	r.process([]projector.Record{
		// Debezium's JsonConverter writes a FLOAT64 as Jackson does.
		{Topic: "t.public.codes", Offset: 1, Key: []byte(`{"id":1}`), Value: []byte(`{"before":null,"after":{"id":1,"code":9.007199254740992E15,"w":null,"name":"big"},"op":"c","ts_ms":1,` +
			`"source":{"version":"2.7.3.Final","connector":"postgresql","name":"t","ts_ms":1,"snapshot":"false","db":"d","schema":"public","table":"codes","txId":10,"lsn":10,"xmin":null},"transaction":null}`)},
		r.rec("orders", "c", m("id", 1), nil, m("id", 1, "ref", int64(9007199254740993), "weight", nil), 0),
		r.rec("orders", "c", m("id", 2), nil, m("id", 2, "ref", int64(9007199254740992), "weight", nil), 0),
	})
	r.expect("order_view", map[string]string{"1": `{"by_code":null}`, "2": `{"by_code":"big"}`})
}

// TestR12jJoinRealToDouble: a real 0.1 matches the double precision 0.1:
// both read "0.1".
func TestR12jJoinRealToDouble(t *testing.T) {
	r := newReviewRig(t, r12jFloatJoinYAML, true)
	r.process([]projector.Record{
		r.rec("codes", "c", m("id", 1), nil, m("id", 1, "code", nil, "w", 0.1, "name", "tenth"), 0),
		r.rec("orders", "c", m("id", 1), nil, m("id", 1, "ref", nil, "weight", 0.1), 0),
	})
	r.expect("order_view", map[string]string{"1": `{"by_weight":"tenth"}`})
}
