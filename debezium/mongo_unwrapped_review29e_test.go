package debezium

import (
	"testing"
)

// TestR29eMongoUnwrappedDeclaredDateTime: a MongoDB document unwrapped by
// ExtractNewDocumentState (mongo evidence: __source_ord) whose field is
// declared date or time is read through the column codec (Date,
// TimeOfDay), then mongoHints holds the already converted value to the
// declared type again, and hinted knows neither Date nor TimeOfDay: every
// such record is a dead letter ("expected a date or time, found value").
// The same value in the envelope form decodes (README: a MongoDB
// document's top-level fields are checked against their declared types,
// a date included).
func TestR29eMongoUnwrappedDeclaredDateTime(t *testing.T) {
	d := mustDecoder(t, Options{Format: FormatUnwrapped, Columns: map[string]string{"d": "date", "t": "time", "ds": "date[]"}})
	for _, c := range []struct{ value, col, want string }{
		{`{"_id":"a","d":"2024-01-02","__op":"c","__source_ts_ms":1700000000000,"__source_ord":1}`, "d", "2024-01-02"},
		{`{"_id":"a","t":"10:15:30","__op":"c","__source_ts_ms":1700000000000,"__source_ord":1}`, "t", "10:15:30"},
		{`{"_id":"a","ds":["2024-01-02"],"__op":"c","__source_ts_ms":1700000000000,"__source_ord":1}`, "ds", "[2024-01-02]"},
	} {
		ch, err := d.Decode([]byte(`{"id":"a"}`), []byte(c.value))
		if err != nil {
			t.Errorf("%s: %v; want %s = %s", c.value, err, c.col, c.want)
			continue
		}
		got := ch.After[c.col]
		if s := R29eText(got); s != c.want {
			t.Errorf("%s: %s = %s, want %s", c.value, c.col, s, c.want)
		}
	}
}

func R29eText(v any) string {
	switch x := v.(type) {
	case []any:
		s := "["
		for i, e := range x {
			if i > 0 {
				s += " "
			}
			s += R29eText(e)
		}
		return s + "]"
	case interface{ String() string }:
		return x.String()
	case string:
		return x
	}
	return "?"
}
