package projtest

import "testing"

const shortCfg = head + `
sources:
  orders:
    topic: shop.public.orders
    key: id
    columns: { id: bigint, at: timestamptz, total: "numeric(10,2)", n: integer }
views:
  v:
    from: orders
    fields: { id: id, at: at, total: total, n: n }
    sinks: { postgres: {} }
`

// A short record goes through the decoding a Debezium record without a
// schema gets from the declared column types: the same row gives the same
// document either way (a timestamp in UTC, a decimal with its scale).
func TestShortRecordsDecodeLikeDebeziumRecords(t *testing.T) {
	expectPass(t, shortCfg, `
  - name: raw record
    given:
      - topic: shop.public.orders
        key: { id: 1 }
        value: { before: null, after: { id: 1, at: "2024-01-01T10:00:00+02:00", total: 10.5, n: 7 }, op: c,
                 source: { connector: postgresql, name: shop, db: shop, schema: public, table: orders, lsn: 100, txId: 1, ts_ms: 1 } }
    expect:
      v:
        "1": { at: "2024-01-01T08:00:00Z", total: "10.50", n: 7 }
  - name: short record
    given:
      - { source: orders, after: { id: 1, at: "2024-01-01T10:00:00+02:00", total: 10.5, n: "7" } }
    expect:
      v:
        "1": { at: "2024-01-01T08:00:00Z", total: "10.50", n: 7 }
`)
}

// A short record that does not fit its declared columns is a failure of
// its case, at its line.
func TestShortRecordThatDoesNotDecodeFails(t *testing.T) {
	fails := runCases(t, shortCfg, `
  - name: bad
    given:
      - { source: orders, after: { id: 1, n: [1] } }
    absent:
      v: ["1"]
`)
	if len(fails) != 1 {
		t.Fatalf("failures %q, want one", fails)
	}
}
