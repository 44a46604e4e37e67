package projtest

import (
	"testing"

	"gopkg.in/yaml.v3"
)

// TestJSONNumber: YAML's numbers become JSON numbers with the value yaml.v3
// reads, the digits of a decimal kept as written.
func TestJSONNumber(t *testing.T) {
	for yml, want := range map[string]string{
		"7": "7", "-7": "-7", "+1": "1", "1_000": "1000", "0x10": "16",
		"0o17": "15", "0b101": "5", "-0b101": "-5", "0777": "511",
		".5": "0.5", "-.5": "-0.5", "+.5": "0.5", "2.": "2", "2.e3": "2e3",
		"08": "8", "1.50": "1.50", "1_000.25": "1000.25", "1e-3": "1e-3",
		"!!float 1": "1", "!!float 0x10": "16",

		"18446744073709551615": "18446744073709551615", // an !!int beyond int64

		"123456789012345678901234567890": "123456789012345678901234567890", // a !!float
	} {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(yml), &doc); err != nil {
			t.Fatal(err)
		}
		got, ok := jsonNumber(doc.Content[0])
		if !ok || got.String() != want {
			t.Errorf("%s: %q, %v; want %s", yml, got, ok, want)
		}
	}
	for _, yml := range []string{".inf", "-.Inf", ".nan", `"7"`, "abc", "!!int abc"} {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(yml), &doc); err != nil {
			t.Fatal(err)
		}
		if got, ok := jsonNumber(doc.Content[0]); ok {
			t.Errorf("%s: %q, want no JSON number", yml, got)
		}
	}
}
