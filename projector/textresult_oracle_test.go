package projector

import (
	"fmt"
	"strings"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/testenv"
)

// brief is s cut for a message.
func brief(s string) string {
	if len(s) > 40 {
		return fmt.Sprintf("%s…(%d bytes)", s[:30], len(s))
	}
	return s
}

// TestTextAsNumberReadAsPostgreSQLReadsIt: text in a number field is what
// PostgreSQL's column makes of it, checked against PostgreSQL itself: the
// same value in its text (a plain numeric keeps the scale it is written
// with, less its exponent; white space around it skipped, C's only), the
// same refusals (null where PostgreSQL raises an error, a value beyond
// numeric's range included).
func TestTextAsNumberReadAsPostgreSQLReadsIt(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	inputs := []string{
		"1e2", " 12.50", ".5", "+5", "5.", "-0", "-0.00", "-.0", "00", "1.50e1", "1e-2", "1.0e-2",
		"1E+2", "1e 2", "1e\t-2", "1e+ 2", "5.e1", "-.5e-3", "0.0e5", "0.00e3", "123e-5", "00012.3400",
		" NaN ", "nan", "NAN", "+NaN", "inf", "+inf", "-inf", "Infinity", "+Infinity", "-Infinity", "INFINITY", "infinit",
		"\t7\n", "\v7\f", "12\u00a0", "\u00a012", "1 2", "1e", "e1", ".", "", "  ", "+", "-", "1.2.3", "+-1", "--1",
		"1_000", "0x1F", "1e1_0", "\u22125", "١٢", ".e1", "+.e1", "1.e", "1e+", "1e2.5", "1e2e3",
		"1e131071", "1e131072", "9" + strings.Repeat("9", 131071), "1" + strings.Repeat("0", 131072),
		"1e-16383", "1e-16384", "0e-16383", "0e-16384", "0.0e-16383", "0e200000", "0e1073741822",
		"0e1073741823", "1e9999999999", "1e-9999999999", "1e00000000000000000002",
		"0." + strings.Repeat("1", 16383), "0." + strings.Repeat("1", 16384),
		"123.456", "999999.999", "99999999.995", "-99999999.994",
	}
	types := []string{"numeric", "numeric(10,2)", "integer", "bigint"}
	for _, typ := range types {
		ft, err := config.ParseType(typ)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range inputs {
			var want *string
			pgErr := pool.QueryRow(t.Context(), "SELECT $1::text::"+typ+"::text", in).Scan(&want)
			got, ok := exprResult(ft, in)
			switch {
			case pgErr != nil && ok:
				t.Errorf("%s of %q: %v; PostgreSQL refuses it (%v)", typ, brief(in), brief(fmt.Sprint(got)), pgErr)
			case pgErr == nil && !ok:
				t.Errorf("%s of %q: refused; PostgreSQL holds %s", typ, brief(in), brief(*want))
			case pgErr == nil && fmt.Sprint(got) != *want:
				t.Errorf("%s of %q: %s; PostgreSQL holds %s", typ, brief(in), brief(fmt.Sprint(got)), brief(*want))
			}
		}
	}
}

// TestTextAsByteaReadAsPostgreSQLDecodesIt: text in a bytea field is read
// as base64 as the PostgreSQL sink's decode(…, 'base64') reads it, checked
// against PostgreSQL itself, and written in standard base64 as
// PostgreSQL's encode gives it back (without its line breaks): the same
// bytes where PostgreSQL takes the text, null where it refuses it. Text
// in the URL-safe alphabet is read in it, as PostgreSQL reads the same
// text in the standard one.
func TestTextAsByteaReadAsPostgreSQLDecodesIt(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	bytea := config.Type{Name: "bytea", Precision: -1, Scale: -1}
	inputs := []string{
		"", "aGk=", "aGk", "aGk==", " aGk= ", "aG k=", "a\nGk=", "aGk=\t", "aGk=\r\n", "aGl=", "aGVsbG8h",
		"aA==", "aA=", "aA", "aG=k", "a===", "=", "====", "a=Gk", "aGk=aGk=", "aA==aGk=", "aGk=a", "aGk=aA==",
		"hello!", "hello", "note", "+/8=", "-_8=", "-_8", "-_-_", "a-b+", "a_b/", "aGk=\v", "aGk=\f",
		"aGk\u00e9", "aGk\x00", "A\u2028Gk=", strings.Repeat("QUJD", 1000),
	}
	for _, in := range inputs {
		asStd := in
		if strings.ContainsAny(in, "-_") && !strings.ContainsAny(in, "+/") {
			asStd = strings.NewReplacer("-", "+", "_", "/").Replace(in) // the same text in the standard alphabet
		}
		var want string
		pgErr := pool.QueryRow(t.Context(), `SELECT replace(encode(decode($1, 'base64'), 'base64'), E'\n', '')`, asStd).Scan(&want)
		got, ok := exprResult(bytea, in)
		switch {
		case pgErr != nil && ok:
			t.Errorf("bytea of %q: %v; PostgreSQL refuses it (%v)", brief(in), got, pgErr)
		case pgErr == nil && !ok:
			t.Errorf("bytea of %q: refused; PostgreSQL holds %s", brief(in), brief(want))
		case pgErr == nil && got != want:
			t.Errorf("bytea of %q: %v; PostgreSQL holds %s", brief(in), got, brief(want))
		}
	}
	if got, ok := exprResult(bytea, "-_8="); got != "+/8=" || !ok {
		t.Errorf(`bytea of "-_8=": %v, %v; want "+/8=" (the URL-safe alphabet's bytes, in the standard one)`, got, ok)
	}
	if got, ok := exprResult(bytea, "a-b+"); ok {
		t.Errorf(`bytea of "a-b+" (both alphabets): %v; want it refused`, got)
	}
}
