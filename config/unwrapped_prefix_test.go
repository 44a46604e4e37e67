package config

import "testing"

// TestUnwrappedPrefixes: a source's unwrapped prefixes are read as
// written, each one left out is the SMT's default "__", and a source
// without the key has both defaults (testdata/unwrapped_prefix.bad.yml
// has what validate refuses).
func TestUnwrappedPrefixes(t *testing.T) {
	const file = "testdata/unwrapped_prefix.good.yml"
	c := loadGood(t, file)
	runChecks(t, []check{
		{"both written", get(t, c.Sources, "orders").Unwrapped,
			Unwrapped{Pos: pos(file, 8, 16), FieldsPrefix: "meta_", HeadersPrefix: "hdr_"}},
		{"one written", get(t, c.Sources, "users").Unwrapped,
			Unwrapped{Pos: pos(file, 11, 16), FieldsPrefix: "__", HeadersPrefix: "meta_"}},
		{"left out", get(t, c.Sources, "items").Unwrapped,
			Unwrapped{FieldsPrefix: "__", HeadersPrefix: "__"}},
	})
}
