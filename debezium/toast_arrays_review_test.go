package debezium

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestReviewToastPlaceholderTypedArrays: Debezium's PostgreSQL connector does
// not write the string "__debezium_unavailable_value" for every unchanged
// TOASTed column. Its UnchangedToastedPlaceholder
// (debezium-connector-postgres/.../UnchangedToastedPlaceholder.java) gives:
//
//   - int[] / bigint[]: a list of the placeholder's bytes as integers,
//     [95,95,100,101,98,...] (DBZ-5936, PR debezium/debezium#4137, 2.1+);
//   - bytea[]: a list holding the placeholder's bytes (base64 in JSON);
//   - uuid[]: a list holding UUID.nameUUIDFromBytes(placeholder),
//     "b68a35a7-17ad-35b3-af2a-ae46edb4545a" (DBZ-6720, PR #4778, 2.4+).
//
// The decoder recognises only the string, ["placeholder"], a map keyed by
// it, and the bytea bytes (value.go isPlaceholderValue / placeholderNext),
// so these columns reach After as real values and overwrite the stored
// array with the placeholder's bytes, breaking DESIGN "State": "the
// placeholder is never written anywhere".
func TestReviewToastPlaceholderTypedArrays(t *testing.T) {
	fields := map[string]string{
		"id":   `{"type":"int32"}`,
		"ints": `{"type":"array","optional":true,"items":{"type":"int32","optional":true}}`,
		"bigs": `{"type":"array","optional":true,"items":{"type":"int64","optional":true}}`,
		"bins": `{"type":"array","optional":true,"items":{"type":"bytes","optional":true}}`,
		"uids": `{"type":"array","optional":true,"items":{"type":"string","optional":true,"name":"io.debezium.data.Uuid","version":1}}`,
	}
	order := []string{"id", "ints", "bigs", "bins", "uids"}
	// The bytes of "__debezium_unavailable_value" as Java ints.
	const intPlaceholder = `[95,95,100,101,98,101,122,105,117,109,95,117,110,97,118,97,105,108,97,98,108,101,95,118,97,108,117,101]`
	tests := []struct {
		col, after string
	}{
		{"ints", `{"id":1,"ints":` + intPlaceholder + `,"bigs":[1],"bins":null,"uids":null}`},
		{"bigs", `{"id":1,"ints":[1],"bigs":` + intPlaceholder + `,"bins":null,"uids":null}`},
		{"bins", `{"id":1,"ints":[1],"bigs":[1],"bins":["X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ=="],"uids":null}`},
		{"uids", `{"id":1,"ints":[1],"bigs":[1],"bins":null,"uids":["b68a35a7-17ad-35b3-af2a-ae46edb4545a"]}`},
	}
	d := mustDecoder(t, Options{})
	for _, tt := range tests {
		t.Run(tt.col, func(t *testing.T) {
			ch, err := d.Decode(nil, pgRecord(fields, order, tt.after))
			if err != nil {
				t.Fatal(err)
			}
			if v, ok := ch.After[tt.col]; ok {
				out, _ := json.Marshal(v)
				t.Errorf("unchanged TOASTed %s reached After as %s; want it absent and listed in Unchanged", tt.col, out)
			}
			if !strings.Contains(strings.Join(ch.Unchanged, ","), tt.col) {
				t.Errorf("Unchanged = %v, want it to list %s", ch.Unchanged, tt.col)
			}
		})
	}
}
