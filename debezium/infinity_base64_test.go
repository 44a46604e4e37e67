package debezium

import "testing"

// TestPreciseBase64SpellingInfinity: in decimal.handling.mode=precise
// a payload-only record carries a numeric as the base64 of its unscaled
// value. The unscaled 37898298469234 (bytes 22 77 e2 9e 2b 72) is the base64
// text "Infinity". A bounded numeric(p,s) column can never hold an infinity
// (PostgreSQL refuses it there), so in such a column the text can only be
// that value: 378982984692.34 in numeric(20,2), which PostgreSQL stores.
// It must not be read as an infinity and dead-lettered.
func TestPreciseBase64SpellingInfinity(t *testing.T) {
	d := mustDecoder(t, Options{Columns: map[string]string{"price": "numeric(20,2)"}})
	checkRange(t, d, rangeCase{"precise base64", "price", `"Infinity"`, `"378982984692.34"`, ""},
		pgSchemaless("price", `"Infinity"`))
}
