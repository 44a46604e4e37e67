package debezium

import (
	"reflect"
	"testing"
)

// TestStructKeyOfKnownFields: a key printed by Kafka Connect's
// StringConverter quotes nothing. With the source's key columns known, a
// text field ends where another key field starts, or a field no column
// declares (a router's): a distinguished name holding ",ou=" stays whole,
// in a composite key too.
func TestStructKeyOfKnownFields(t *testing.T) {
	for _, tc := range []struct {
		name    string
		columns map[string]string
		key     []string
		in      string
		want    map[string]any
	}{
		{"one text field", map[string]string{"dn": "text"}, []string{"dn"},
			"Struct{dn=cn=admins,ou=people}", map[string]any{"dn": "cn=admins,ou=people"}},
		{"text then integer", map[string]string{"dn": "text", "n": "bigint"}, []string{"dn", "n"},
			"Struct{dn=cn=a,ou=b,n=7}", map[string]any{"dn": "cn=a,ou=b", "n": int64(7)}},
		{"integer then text, declared the other way", map[string]string{"dn": "text", "n": "bigint"}, []string{"dn", "n"},
			"Struct{n=7,dn=cn=a,ou=b}", map[string]any{"dn": "cn=a,ou=b", "n": int64(7)}},
		{"a field no column declares ends it (a router's)", map[string]string{"id": "text"}, []string{"id"},
			"Struct{id=abc,__dbz__physicalTableIdentifier=dbserver1.inventory.customers}",
			map[string]any{"id": "abc", "__dbz__physicalTableIdentifier": "dbserver1.inventory.customers"}},
		{"a declared column ends it (message.key.columns naming more than key:)", map[string]string{"dn": "text", "ou": "text"}, []string{"dn"},
			"Struct{dn=cn=admins,ou=people}", map[string]any{"dn": "cn=admins", "ou": "people"}},
		{"key not declared: any field name ends it", map[string]string{"dn": "text"}, nil,
			"Struct{dn=cn=admins,ou=people}", map[string]any{"dn": "cn=admins", "ou": "people"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := NewDecoder(Options{Format: FormatJSON, Columns: tc.columns, Key: tc.key})
			if err != nil {
				t.Fatal(err)
			}
			got, err := d.decodeKey([]byte(tc.in), keyRelational)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("key %s = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}
