package config

import (
	"errors"
	"strings"
	"testing"
)

// TestOfflineBrokerListChecksSetItems: offline, an item of the broker
// list that is an unset ${NAME} goes unchecked, but the items beside it
// that are written out are still checked as host:port.
func TestOfflineBrokerListChecksSetItems(t *testing.T) {
	const doc = `version: 1
kafka:
  brokers: ["${OFFLINE_BROKER}", "nohost"]
stores: { postgres: { url: "postgres://x/y" } }
sources:
  orders: { topic: shop.public.orders, key: id, columns: { id: bigint } }
views:
  order_view:
    from: orders
    fields: { id: id }
    sinks: { postgres: {} }
`
	none := func(string) (string, bool) { return "", false }
	_, err := ParseDraftWith("p.yaml", []byte(doc), none, Options{UnsetConnections: true})
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 1 {
		t.Fatalf("ParseDraftWith: %v, want one error, about \"nohost\"", err)
	}
	if e := errs[0].Error(); !strings.Contains(e, `got "nohost"`) || errs[0].Pos.Line != 3 {
		t.Errorf("error %q, want \"nohost\" refused at line 3", e)
	}
}
