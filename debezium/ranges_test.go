package debezium

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rangeCase is one value of one column: want is what it reads as (Exact,
// then JSON), or "" when the record must be malformed with a reason
// holding reason, at a path ending in the column.
type rangeCase struct {
	name, col, value, want, reason string
}

// checkRange decodes value (built from the case) and checks the outcome.
func checkRange(t *testing.T, d *Decoder, tt rangeCase, value []byte) {
	t.Helper()
	ch, err := d.Decode(nil, value)
	if tt.want == "" {
		var me *MalformedError
		if !asMalformed(err, &me) {
			t.Fatalf("%s = %s: err = %v, want malformed (a store refuses it on every retry); read %#v",
				tt.col, tt.value, err, ch.After[tt.col])
		}
		if !strings.Contains(me.Path, "after."+tt.col) || !strings.Contains(me.Reason, tt.reason) {
			t.Errorf("error %q, want its path to name after.%s and its reason to say %q", err, tt.col, tt.reason)
		}
		return
	}
	if err != nil {
		t.Fatalf("%s = %s: %v", tt.col, tt.value, err)
	}
	wantJSON(t, Exact(ch.After[tt.col]), tt.want)
}

// pgSchemaless is a schemaless PostgreSQL change whose after image holds
// one column.
func pgSchemaless(col, value string) []byte {
	return []byte(`{"op":"c","source":{"connector":"postgresql","lsn":7},"after":{"` + col + `":` + value + `}}`)
}

// mongoDoc is a MongoDB change whose document holds one field besides _id.
func mongoDoc(col, value string) []byte {
	return mongoValue("c", `{"_id": 1, "`+col+`": `+value+`}`, "", "", "")
}

const years = "outside years 1..9999"

// TestDateAndTimestampYears: RFC 3339 has no era and four-digit years, so
// a date or timestamp before year 1 (PostgreSQL's BC) or after 9999 is
// written in a form PostgreSQL refuses ("0000-06-01", "-0100-02-22",
// "5881580-07-11"): it must be malformed, never stored and retried.
func TestDateAndTimestampYears(t *testing.T) {
	d := mustDecoder(t, Options{Columns: map[string]string{
		"ts": "timestamp(3)", "tsz": "timestamptz", "d": "date", "ds": "date[]", // timestamp(3): in ms
	}})
	day := int64(86400000)
	year1 := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	tests := []rangeCase{
		{"year 0 text", "ts", `"0000-06-01T00:00:00"`, "", years},
		{"year 0 ms", "ts", itoa(year1 - day), "", years},
		{"year 1 ms", "ts", itoa(year1), `"0001-01-01T00:00:00Z"`, ""},
		{"year 9999", "ts", `"9999-12-31T23:59:59.999"`, `"9999-12-31T23:59:59.999Z"`, ""},
		{"rounded into year 10000", "ts", `"9999-12-31T23:59:59.9999"`, "", years}, // timestamp(3)
		{"year 10000 ms", "ts", itoa(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()), "", years},
		{"zoned into year 0", "tsz", `"0001-01-01T00:30:00+01:00"`, "", years},
		{"date BC", "d", "-756000", "", years},
		{"date int32 max", "d", "2147483647", "", years},
		{"date int32 min", "d", "-2147483648", "", years},
		{"first date", "d", "-719162", `"0001-01-01"`, ""},
		{"day before", "d", "-719163", "", years},
		{"last date", "d", "2932896", `"9999-12-31"`, ""},
		{"day after", "d", "2932897", "", years},
		{"year 0 date text", "d", `"0000-12-31"`, "", years},
		{"in an array", "ds", "[1, -756000]", "", years},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkRange(t, d, tt, pgSchemaless(tt.col, tt.value)) })
	}
}

// TestDateYearsEverywhere: the same bounds hold for a schema's Date and
// MicroTimestamp and for a MongoDB $date.
func TestDateYearsEverywhere(t *testing.T) {
	d := mustDecoder(t, Options{Columns: map[string]string{"at": "timestamptz"}})
	fields := map[string]string{
		"d":  `{"type":"int32","name":"io.debezium.time.Date"}`,
		"ts": `{"type":"int64","name":"io.debezium.time.MicroTimestamp"}`,
	}
	for _, tt := range []rangeCase{
		{"schema date BC", "d", "-756000", "", years},
		{"schema date", "d", "19279", `"2022-10-14"`, ""},
		{"schema micro year 0", "ts", "-62135596800000001", "", years},
	} {
		t.Run(tt.name, func(t *testing.T) {
			checkRange(t, d, tt, pgRecord(fields, []string{tt.col}, `{"`+tt.col+`":`+tt.value+`}`))
		})
	}
	for _, tt := range []rangeCase{
		{"mongo year 0", "at", `{"$date": "0000-06-01T00:00:00Z"}`, "", years},
		{"mongo year 1", "at", `{"$date": "0001-01-01T00:00:00Z"}`, `"0001-01-01T00:00:00Z"`, ""},
	} {
		t.Run(tt.name, func(t *testing.T) { checkRange(t, d, tt, mongoDoc(tt.col, tt.value)) })
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

const (
	tooWide  = "out of range for integer"
	tooSmall = "out of range for smallint"
)

// TestDeclaredIntegerWidths: a column declared integer holds 32 bits and
// smallint 16; 3000000000 in either is refused by PostgreSQL on every
// retry, so it is malformed whichever way the value came.
func TestDeclaredIntegerWidths(t *testing.T) {
	d := mustDecoder(t, Options{Columns: map[string]string{
		"qty": "integer", "s": "smallint", "b": "bigint", "qs": "integer[]", "n": "int8",
	}})
	for _, tt := range []rangeCase{
		{"int max", "qty", "2147483647", "2147483647", ""},
		{"int min", "qty", "-2147483648", "-2147483648", ""},
		{"int max+1", "qty", "2147483648", "", tooWide},
		{"int min-1", "qty", "-2147483649", "", tooWide},
		{"3e9", "qty", "3e9", "", tooWide},
		{"smallint max", "s", "32767", "32767", ""},
		{"smallint max+1", "s", "32768", "", tooSmall},
		{"smallint min-1", "s", "-32769", "", tooSmall},
		{"bigint max", "b", "9223372036854775807", "9223372036854775807", ""},
		{"int8 is bigint", "n", "3000000000", "3000000000", ""},
		{"in an array", "qs", "[1, 3000000000]", "", tooWide},
	} {
		t.Run("schemaless "+tt.name, func(t *testing.T) { checkRange(t, d, tt, pgSchemaless(tt.col, tt.value)) })
	}
	for _, tt := range []rangeCase{
		{"int32", "qty", "3000000000", "", tooWide},
		{"numberLong", "qty", `{"$numberLong": "3000000000"}`, "", tooWide},
		{"double", "qty", "3e9", "", tooWide},
		{"fits", "qty", `{"$numberLong": "2147483647"}`, "2147483647", ""},
		{"smallint", "s", "40000", "", tooSmall},
	} {
		t.Run("mongo "+tt.name, func(t *testing.T) { checkRange(t, d, tt, mongoDoc(tt.col, tt.value)) })
	}
}

// TestSchemaIntegerWidths: JSON with a schema says int16 or int32 itself,
// and a declared integer narrows a schema's int64; a value beyond either
// is malformed, as it is schemaless.
func TestSchemaIntegerWidths(t *testing.T) {
	d := mustDecoder(t, Options{Columns: map[string]string{"declared": "integer", "dur": "smallint"}})
	fields := map[string]string{
		"i32":      `{"type":"int32"}`,
		"i16":      `{"type":"int16"}`,
		"i64":      `{"type":"int64"}`,
		"declared": `{"type":"int64"}`,
		"dur":      `{"type":"int64","name":"io.debezium.time.MicroDuration"}`,
	}
	for _, tt := range []rangeCase{
		{"int32 too big", "i32", "3000000000", "", "out of range for integer"},
		{"int32 fits", "i32", "-2147483648", "-2147483648", ""},
		{"int16 too big", "i16", "40000", "", tooSmall},
		{"int64", "i64", "3000000000", "3000000000", ""},
		{"int64 declared integer", "declared", "3000000000", "", tooWide},
		{"int64 declared integer fits", "declared", "7", "7", ""},
		// A logical type is not the column's integer: it stays int64.
		{"MicroDuration", "dur", "3000000000", "3000000000", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			checkRange(t, d, tt, pgRecord(fields, []string{tt.col}, `{"`+tt.col+`":`+tt.value+`}`))
		})
	}
}

// rangeAvroSchema is an envelope whose row has plain Avro fields that
// declared columns give a meaning.
const rangeAvroSchema = `{"type":"record","name":"Envelope","namespace":"rg","fields":[
  {"name":"before","type":["null",{"type":"record","name":"Value","fields":[
    {"name":"qty","type":"long"},{"name":"small","type":"int"},{"name":"price","type":"double"},{"name":"text_price","type":"string"}]}],"default":null},
  {"name":"after","type":["null","Value"],"default":null},
  {"name":"source","type":{"type":"record","name":"Source","fields":[{"name":"connector","type":"string"},{"name":"lsn","type":["null","long"]}]}},
  {"name":"op","type":"string"}]}`

// TestAvroDeclaredRanges: declared widths, precisions and non-finite
// numerics apply to Avro's plain fields as to JSON.
func TestAvroDeclaredRanges(t *testing.T) {
	d := mustDecoder(t, Options{Columns: map[string]string{
		"qty": "integer", "small": "smallint", "price": "numeric(5,2)", "text_price": "numeric(5,2)",
	}})
	if err := d.AddAvroSchema(1, rangeAvroSchema); err != nil {
		t.Fatal(err)
	}
	row := func(qty int64, small int32, price float64, text string) []byte {
		return frame(1, avroEncode(t, rangeAvroSchema, map[string]any{
			"before": nil,
			"after":  map[string]any{"rg.Value": map[string]any{"qty": qty, "small": small, "price": price, "text_price": text}},
			"source": map[string]any{"connector": "postgresql", "lsn": map[string]any{"long": int64(5)}},
			"op":     "c",
		}))
	}
	for _, tt := range []struct {
		rangeCase
		value []byte
	}{
		{rangeCase{"long beyond integer", "qty", "3000000000", "", tooWide}, row(3000000000, 1, 1, "1")},
		{rangeCase{"int beyond smallint", "small", "40000", "", tooSmall}, row(1, 40000, 1, "1")},
		{rangeCase{"double beyond precision", "price", "123456.78", "", "does not fit numeric(5,2)"}, row(1, 1, 123456.78, "1")},
		{rangeCase{"text beyond precision", "text_price", `"123456.78"`, "", "does not fit numeric(5,2)"}, row(1, 1, 1, "123456.78")},
		{rangeCase{"text NaN", "text_price", `"NaN"`, `"NaN"`, ""}, row(1, 1, 1, "NaN")},
		{rangeCase{"double NaN", "price", "NaN", `"NaN"`, ""}, row(1, 1, math.NaN(), "1")},
		{rangeCase{"double infinity", "price", "+Inf", "", "holds NaN but no infinity"}, row(1, 1, math.Inf(1), "1")},
		{rangeCase{"fits", "price", "999.99", `"999.99"`, ""}, row(2147483647, 32767, 999.99, "-999.99")},
	} {
		t.Run(tt.name, func(t *testing.T) { checkRange(t, d, tt.rangeCase, tt.value) })
	}
}

const tooPrecise = "does not fit numeric(5,2)"

// TestDeclaredNumericPrecision: numeric(5,2) holds at most 999.99 once
// rounded to its scale; PostgreSQL refuses more on every retry ("numeric
// field overflow"), so more is malformed whichever way the value came.
func TestDeclaredNumericPrecision(t *testing.T) {
	d := mustDecoder(t, Options{Columns: map[string]string{
		"price": "numeric(5,2)", "whole": "numeric(5)", "free": "numeric", "prices": "numeric(5,2)[]",
	}})
	for _, tt := range []rangeCase{
		{"beyond", "price", "123456.78", "", tooPrecise},
		{"largest", "price", "999.99", `"999.99"`, ""},
		{"rounds beyond", "price", "999.995", "", tooPrecise},
		{"negative rounds within", "price", "-999.994", `"-999.99"`, ""},
		{"string mode", "price", `"123456.78"`, "", tooPrecise},
		{"precise mode base64", "price", `"BfXg5A=="`, "", tooPrecise}, // 999999.72: 99999972 at scale 2
		{"tiny", "price", "0.001", `"0.00"`, ""},
		{"numeric(p)", "whole", "99999", `"99999"`, ""},
		{"numeric(p) beyond", "whole", "100000", "", "does not fit numeric(5,0)"},
		{"numeric(p) rounds beyond", "whole", "99999.5", "", "does not fit numeric(5,0)"},
		{"unbounded", "free", "123456789012345678901234567890.5", `"123456789012345678901234567890.5"`, ""},
		{"in an array", "prices", `[1, 1000]`, "", tooPrecise},
	} {
		t.Run("schemaless "+tt.name, func(t *testing.T) { checkRange(t, d, tt, pgSchemaless(tt.col, tt.value)) })
	}
	for _, tt := range []rangeCase{
		{"double", "price", "123456.78", "", tooPrecise},
		{"numberDecimal", "price", `{"$numberDecimal": "123456.78"}`, "", tooPrecise},
		{"int", "price", "1000", "", tooPrecise},
		{"fits", "price", "1.5", `"1.50"`, ""},
	} {
		t.Run("mongo "+tt.name, func(t *testing.T) { checkRange(t, d, tt, mongoDoc(tt.col, tt.value)) })
	}
	fields := map[string]string{"price": `{"type":"double"}`}
	tt := rangeCase{"schema double", "price", "123456.78", "", tooPrecise}
	t.Run(tt.name, func(t *testing.T) {
		checkRange(t, d, tt, pgRecord(fields, []string{"price"}, `{"price":123456.78}`))
	})
}

const noInfinity = "holds NaN but no infinity"

// TestNonFiniteNumeric: PostgreSQL's numeric holds NaN (and, unbounded,
// the infinities). decimal.handling.mode=string writes them as Debezium's
// "NAN", "POSITIVE_INFINITY" and "NEGATIVE_INFINITY", mode double as
// Jackson's "NaN", "Infinity" and "-Infinity"; "NaN" is also valid base64
// and must not be read as the bytes of 137.31.
func TestNonFiniteNumeric(t *testing.T) {
	d := mustDecoder(t, Options{Columns: map[string]string{"price": "numeric(10,2)", "free": "numeric", "f": "float8"}})
	for _, tt := range []rangeCase{
		{"NaN", "price", `"NaN"`, `"NaN"`, ""},
		{"Debezium NAN", "price", `"NAN"`, `"NaN"`, ""},
		// numeric(p,s) holds no infinity: "Infinity" there is base64 (precise
		// mode), here of a number too large for numeric(10,2).
		{"infinity bounded", "price", `"Infinity"`, "", "does not fit numeric(10,2)"},
		{"Debezium infinity bounded", "price", `"POSITIVE_INFINITY"`, "", noInfinity},
		{"infinity", "free", `"Infinity"`, `"Infinity"`, ""},
		{"Debezium -infinity", "free", `"NEGATIVE_INFINITY"`, `"-Infinity"`, ""},
		{"-infinity", "free", `"-Infinity"`, `"-Infinity"`, ""},
		{"double column", "f", `"NaN"`, `"NaN"`, ""},
		{"not a number", "price", `"Infinityx"`, "", "invalid base64"},
	} {
		t.Run("schemaless "+tt.name, func(t *testing.T) { checkRange(t, d, tt, pgSchemaless(tt.col, tt.value)) })
	}
	for _, tt := range []rangeCase{
		{"NaN", "price", `{"$numberDecimal": "NaN"}`, `"NaN"`, ""},
		{"-NaN", "price", `{"$numberDecimal": "-NaN"}`, `"NaN"`, ""},
		{"infinity bounded", "price", `{"$numberDecimal": "Infinity"}`, "", noInfinity},
		{"-infinity", "free", `{"$numberDecimal": "-Infinity"}`, `"-Infinity"`, ""},
		{"suffix is not infinity", "price", `"xInfinity"`, "", "expected a decimal"},
	} {
		t.Run("mongo "+tt.name, func(t *testing.T) { checkRange(t, d, tt, mongoDoc(tt.col, tt.value)) })
	}
}
