package projtest

import (
	"strconv"
	"testing"
)

// pgChange is a raw Debezium PostgreSQL record of an order with a status:
// a snapshot read (op r, source.snapshot) or a streamed update naming no
// committed LSN, at an LSN.
func pgChange(op string, id int, status string, lsn int) string {
	snapshot := ""
	if op == "r" {
		snapshot = `, snapshot: "true"`
	}
	n := strconv.Itoa(id)
	return `      - topic: shop.public.orders
        key: { id: ` + n + ` }
        value:
          op: ` + op + `
          after: { id: ` + n + `, user_id: u1, status: ` + status + ` }
          source: { connector: postgresql, name: shop, db: shop, schema: public, table: orders, lsn: ` + strconv.Itoa(lsn) + `, ts_ms: 1` + snapshot + ` }
`
}

func shortUpdate(id int, status string) string {
	return `      - { source: orders, op: u, after: { id: ` + strconv.Itoa(id) + `, user_id: u1, status: ` + status + ` } }
`
}

// A change Debezium streams after an initial snapshot replaces the
// snapshot's reads though its LSN is below theirs (a transaction open
// across the snapshot). A short record written after a read comes right
// after the newest record and before the raw records written after it: it
// must not hide such a change written after it, nor be hidden by a change
// written before it, and a replay older than a change before it is still
// dropped.
func TestShortRecordAfterSnapshotRead(t *testing.T) {
	for _, tc := range []struct {
		name, given string
		want        map[int]string
	}{
		{
			name:  "a streamed change below the read's LSN after the short record",
			given: pgChange("r", 1, "read", 1000) + shortUpdate(1, "short") + pgChange("u", 1, "streamed", 500),
			want:  map[int]string{1: "streamed"},
		},
		{
			name: "after two short records",
			given: pgChange("r", 1, "read", 1000) + shortUpdate(1, "short") + shortUpdate(1, "short2") +
				pgChange("u", 1, "streamed", 1000),
			want: map[int]string{1: "streamed"},
		},
		{
			name: "a later streamed change after the short record",
			given: pgChange("r", 1, "read", 1000) + pgChange("u", 1, "streamed", 500) + shortUpdate(1, "short") +
				pgChange("u", 1, "later", 600),
			want: map[int]string{1: "later"},
		},
		{
			name: "a short record of a row still as read, after a streamed change of another",
			given: pgChange("r", 1, "read", 1000) + pgChange("r", 2, "read", 1000) + pgChange("u", 1, "streamed", 500) +
				shortUpdate(2, "short") + shortUpdate(1, "short"),
			want: map[int]string{1: "short", 2: "short"},
		},
		{
			name: "a replay older than the streamed change before the short record",
			given: pgChange("r", 1, "read", 1000) + pgChange("u", 1, "streamed", 500) + shortUpdate(1, "short") +
				pgChange("u", 1, "replay", 450),
			want: map[int]string{1: "short"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expect := ""
			for id, status := range tc.want {
				expect += `        "` + strconv.Itoa(id) + `": { status: ` + status + ` }
`
			}
			expectPass(t, ordersCfg, `  - name: x
    given:
`+tc.given+`    expect:
      order_view:
`+expect)
		})
	}
}
