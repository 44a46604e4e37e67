package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInspectNotJSON: a value or key file that is not JSON is reported as
// such, with encoding/json's reason and the line and column of the fault,
// not as the Debezium field the decoder was looking for ("found null" for
// `not json`, "payload: ..." for a value without a payload).
func TestInspectNotJSON(t *testing.T) {
	const record = `{"op":"c","after":{"id":1}}`
	for _, tc := range []struct {
		name, value, key string
		want             string
		not              string
	}{
		{name: "word", value: "not json",
			want: "value is not JSON: invalid character 'o' in literal null (expecting 'u'), at line 1, column 2", not: "found null"},
		{name: "unquoted key", value: "{bad",
			want: "value is not JSON: invalid character 'b' looking for beginning of object key string, at line 1, column 2", not: "payload"},
		{name: "second line", value: "{\n  \"op\": \"c\",\n  \"after\": {\"id\": 1,}\n}",
			want: "value is not JSON: invalid character '}' looking for beginning of object key string, at line 3, column 21"},
		{name: "cut short", value: `{"op":`, want: "value is not JSON: unexpected end of JSON input"},
		{name: "trailing text", value: record + " x", want: "value is not JSON: invalid character 'x' after top-level value, at line 1, column 29"},
		{name: "key", value: record, key: "{bad", want: "key is not JSON: invalid character 'b'"},
		{name: "key of a tombstone", value: "", key: "nope", want: "key is not JSON: invalid character 'o'"},
		// JSON that is not a record keeps the decoder's own words.
		{name: "array", value: "[1]", want: "value: expected a JSON object, found an array"},
		{name: "key array", value: record, key: "[1]", want: "key: expected a JSON object or Struct{...}, found an array"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			args := []string{"inspect", "--value", writeFile(t, dir, "value.json", tc.value)}
			if tc.key != "" {
				args = append(args, "--key", writeFile(t, dir, "key.json", tc.key))
			}
			code, out, errOut := run(t, args...)
			if code != ExitFailure || !strings.Contains(errOut, tc.want) || (tc.not != "" && strings.Contains(errOut, tc.not)) {
				t.Errorf("exit %d %q%s; want %d and %q", code, errOut, out, ExitFailure, tc.want)
			}
		})
	}
}

// TestInspectColumnBadType: a --column type the configuration would refuse
// is a usage error naming it, as `projector validate` reports it, not a
// hint silently ignored.
func TestInspectColumnBadType(t *testing.T) {
	value := writeFile(t, t.TempDir(), "value.json", `{"op":"c","after":{"id":1,"price":10.5}}`)
	for _, tc := range []struct{ column, want string }{
		{"price=nonsense", `--column price: invalid type "nonsense": unknown type`},
		{"price=numeric(2,5,1)", `--column price: invalid type "numeric(2,5,1)"`},
		{"=bigint", `--column "=bigint": want name=type`},
	} {
		code, out, errOut := run(t, "inspect", "--value", value, "--column", tc.column)
		if code != ExitUsage || !strings.Contains(errOut, tc.want) || out != "" {
			t.Errorf("--column %s: exit %d %q %q; want %d and %q", tc.column, code, errOut, out, ExitUsage, tc.want)
		}
	}
	if code, out, errOut := run(t, "inspect", "--value", value, "--column", "price=NUMERIC(10, 2)"); code != ExitOK || !strings.Contains(out, `"price": "10.50"`) {
		t.Errorf("--column price=NUMERIC(10, 2): exit %d %q %s", code, errOut, out)
	}
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
