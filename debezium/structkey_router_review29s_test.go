package debezium

import "testing"

// TestR29sStructKeyRouterField: Debezium's ByLogicalTableRouter adds
// __dbz__physicalTableIdentifier to every key (see the sample
// postgres/key_logical_table_router_with_schema). Printed by the
// StringConverter, a text key id of a source declaring key: id comes as
// Struct{id=abc,__dbz__physicalTableIdentifier=db.inv.customers}. Before
// today the id was "abc"; since the key's text field ends only at another
// declared key field, the id swallows the router's field, and the engine
// (which reads a key column from the record key before the row) files the
// row under a key that is not its id.
func TestR29sStructKeyRouterField(t *testing.T) {
	d := mustDecoder(t, Options{Columns: map[string]string{"id": "text", "name": "text"}, Key: []string{"id"}})
	ch, err := d.Decode([]byte(`Struct{id=abc,__dbz__physicalTableIdentifier=dbserver1.inventory.customers}`),
		[]byte(`{"op":"c","after":{"id":"abc","name":"x"},"source":{"lsn":9}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := ch.Key["id"]; got != "abc" {
		t.Fatalf("key id = %#v, want \"abc\" (the row's id); key %v", got, ch.Key)
	}
}
