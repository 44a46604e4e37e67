package projtest

import (
	"strings"
	"testing"
)

const unwrappedCfg = head + `sources:
  orders: { topic: s.public.orders, key: id, format: unwrapped, columns: { id: bigint, status: text } }
views:
  v:
    from: orders
    fields: { id: id, status: status }
    sinks: { postgres: { table: v } }
`

// TestRawRecordHeaders: a raw record's headers are read as Kafka's: the
// tombstone ExtractNewRecordState makes of a delete (add.headers=op,lsn)
// deletes the row; one without a position does not.
func TestRawRecordHeaders(t *testing.T) {
	expectPass(t, unwrappedCfg, `  - name: a tombstone with the delete's position
    given:
      - { topic: s.public.orders, key: { id: 1 }, value: { id: 1, status: new, __op: c, __lsn: 100 } }
      - { topic: s.public.orders, key: { id: 1 }, value: null, headers: { __op: d, __lsn: 200 } }
    absent:
      v: ["1"]
  - name: a compaction marker
    given:
      - { topic: s.public.orders, key: { id: 1 }, value: { id: 1, status: new, __op: c, __lsn: 100 } }
      - { topic: s.public.orders, key: { id: 1 }, value: null, headers: { __op: d } }
    expect:
      v: { "1": { status: new } }
`)
	fails := runCases(t, unwrappedCfg, `  - name: a bad position
    given:
      - { topic: s.public.orders, key: { id: 1 }, value: null, headers: { __op: d, __lsn: 0/1A } }
    absent:
      v: ["1"]
`)
	if len(fails) != 1 || !strings.Contains(fails[0], "header __lsn: expected an integer") {
		t.Errorf("failures %q, want the bad header named", fails)
	}
	why := malformed(t, unwrappedCfg, `config: projector.yaml
cases:
  - name: headers not a mapping
    given:
      - { topic: s.public.orders, key: { id: 1 }, value: null, headers: [__op] }
`)
	if !strings.Contains(why, ":5:") || !strings.Contains(why, "headers: want a mapping") {
		t.Errorf("malformed file: %q, want the headers' line and what they should be", why)
	}
}
