package debezium

import (
	"encoding/json"
	"errors"
	"testing"
)

// TestR15aMongoDecimalInBigintWraps: a MongoDB Decimal128 in a column
// declared bigint is read as an integer when it is whole and has at most
// 18 digits (hintedInt), but NumDigits counts the coefficient only: 1E+19
// (one digit, exponent 19) passes, and IntPart wraps it to
// -8446744073709551616; 1E+6144 becomes 0. The README: a top-level value
// that cannot be its declared type makes the record malformed (a dead
// letter). Here it is stored as another number, silently.
func TestR15aMongoDecimalInBigintWraps(t *testing.T) {
	d := mustDecoder(t, Options{Columns: map[string]string{"n": "bigint"}})
	for _, v := range []string{`{"$numberDecimal": "1E+19"}`, `{"$numberDecimal": "1E+6144"}`, `{"$numberDecimal": "92233720368547758.08E+2"}`} {
		ch, err := d.Decode(nil, mongoDoc("n", v))
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("%s: %v, want ErrMalformed", v, err)
			}
			continue
		}
		t.Errorf("bigint n = %s decoded as %v without error; want a malformed record (out of range for bigint)", v, ch.After["n"])
	}
}

// TestR15aMongoDecimalBeyondFloatIsInf: a Decimal128 beyond a double's
// range in a column declared real or double precision reads as +Inf
// (InexactFloat64), which fitFloat lets through: the Change cannot even be
// marshalled as JSON (json: unsupported value: +Inf), and PostgreSQL
// refuses the value (out of range for type double precision / real). It
// must be a malformed record, as 1E+39 in a real already is.
func TestR15aMongoDecimalBeyondFloatIsInf(t *testing.T) {
	d := mustDecoder(t, Options{Columns: map[string]string{"f": "real", "g": "double precision"}})
	for _, c := range []struct{ col, v string }{
		{"f", `{"$numberDecimal": "1E+6144"}`},
		{"g", `{"$numberDecimal": "1E+400"}`},
		{"g", `{"$numberDecimal": "-1E+400"}`},
	} {
		ch, err := d.Decode(nil, mongoDoc(c.col, c.v))
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("%s = %s: %v, want ErrMalformed", c.col, c.v, err)
			}
			continue
		}
		_, merr := json.Marshal(ch)
		t.Errorf("%s = %s decoded as %v without error (marshal: %v); want a malformed record", c.col, c.v, ch.After[c.col], merr)
	}
}
