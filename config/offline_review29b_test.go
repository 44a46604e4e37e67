package config

import "testing"

// TestR29bOfflineBrokerListOfUnsetRefs: README (validate): "--offline also
// takes a connection setting (under kafka, stores, admin) that is one
// ${NAME} not set as unchecked, so CI needs none of the secrets". A broker
// list written as a YAML list of ${NAME}s is such settings, one per item,
// yet each item is still checked as host:port and refused ("kafka broker
// must be host:port, got value from ${R29B_BROKER_1}"), so validate
// --offline exits 2 in CI; the same brokers written as one string pass.
func TestR29bOfflineBrokerListOfUnsetRefs(t *testing.T) {
	const doc = `version: 1
kafka:
  brokers: ["${R29B_BROKER_1}", "${R29B_BROKER_2}"]
stores: { postgres: { url: "${R29B_PG_URL}" } }
sources:
  orders: { topic: shop.public.orders, key: id, columns: { id: bigint } }
views:
  order_view:
    from: orders
    fields: { id: id }
    sinks: { postgres: {} }
`
	none := func(string) (string, bool) { return "", false }
	if _, err := ParseDraftWith("p.yaml", []byte(doc), none, Options{UnsetConnections: true}); err != nil {
		t.Errorf("validate --offline with a list of unset broker variables:\n%v\nwant no problem: each is one ${NAME} not set", err)
	}
}
