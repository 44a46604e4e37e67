package debezium

import (
	"math"
	"testing"
)

// TestAvroDeclaredReal: an Avro double whose column is declared real is
// rounded to a float32 as the JSON paths round it (a PostgreSQL real holds
// 16777216 for 16777217), and one beyond a real's range is malformed; no
// Avro float reads -0, as PostgreSQL's jsonb gives 0.
func TestAvroDeclaredReal(t *testing.T) {
	const schema = `{"type":"record","name":"Envelope","namespace":"fl","fields":[
	  {"name":"before","type":["null",{"type":"record","name":"Value","fields":[
	    {"name":"r","type":"double"},{"name":"rn","type":["null","double"]},{"name":"d","type":"double"},{"name":"f","type":"float"}]}],"default":null},
	  {"name":"after","type":["null","Value"],"default":null},
	  {"name":"source","type":{"type":"record","name":"Source","fields":[{"name":"connector","type":"string"},{"name":"lsn","type":["null","long"]}]}},
	  {"name":"op","type":"string"}]}`
	d := mustDecoder(t, Options{Columns: map[string]string{"r": "real", "rn": "float4", "d": "double precision"}})
	if err := d.AddAvroSchema(1, schema); err != nil {
		t.Fatal(err)
	}
	row := func(r, rn, dv float64, f float32) []byte {
		return frame(1, avroEncode(t, schema, map[string]any{
			"before": nil,
			"after":  map[string]any{"fl.Value": map[string]any{"r": r, "rn": map[string]any{"double": rn}, "d": dv, "f": f}},
			"source": map[string]any{"connector": "postgresql", "lsn": map[string]any{"long": int64(5)}},
			"op":     "c",
		}))
	}
	negZero := math.Copysign(0, -1)
	for _, tt := range []struct {
		rangeCase
		value []byte
	}{
		{rangeCase{"real", "r", "3.14159265358979", "3.1415927", ""}, row(3.14159265358979, 1, 1, 1)},
		{rangeCase{"real 2^24+1", "r", "16777217", "16777216", ""}, row(16777217, 1, 1, 1)},
		{rangeCase{"nullable real", "rn", "16777217", "16777216", ""}, row(1, 16777217, 1, 1)},
		{rangeCase{"real -0", "r", "-0", "0", ""}, row(negZero, 1, 1, 1)},
		{rangeCase{"real NaN", "r", "NaN", `"NaN"`, ""}, row(math.NaN(), 1, 1, 1)},
		{rangeCase{"real overflow", "r", "1e39", "", "out of range for real"}, row(1e39, 1, 1, 1)},
		{rangeCase{"real underflow", "rn", "1e-50", "", "out of range for real"}, row(1, 1e-50, 1, 1)},
		{rangeCase{"double keeps its digits", "d", "16777217.5", "16777217.5", ""}, row(1, 1, 16777217.5, 1)},
		{rangeCase{"double -0", "d", "-0", "0", ""}, row(1, 1, negZero, 1)},
		{rangeCase{"float -0", "f", "-0", "0", ""}, row(1, 1, 1, float32(negZero))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			checkRange(t, d, tt.rangeCase, tt.value)
			if v, ok := mustAfter(t, d, tt.value)[tt.col].(float64); ok && v == 0 && math.Signbit(v) {
				t.Errorf("%s reads -0", tt.col)
			}
		})
	}
}

func mustAfter(t *testing.T, d *Decoder, value []byte) map[string]any {
	t.Helper()
	ch, err := d.Decode(nil, value)
	if err != nil {
		return nil
	}
	return ch.After
}

// TestDeclaredPrecisionOverLogicalTimes: a column declared time(p),
// timestamp(p), timestamptz(p) or timetz(p) keeps p fractional digits
// (PostgreSQL rounds to them) whatever Debezium's logical type says of the
// value's unit: a MicroTimestamp, ZonedTimestamp or MicroTime in a column
// declared with 0 digits is rounded to the second, as the same value
// without a schema is (TestValuesAsTheirColumnHoldsThem).
func TestDeclaredPrecisionOverLogicalTimes(t *testing.T) {
	d := mustDecoder(t, Options{Columns: map[string]string{
		"zt": "timestamptz(0)", "mt": "timestamp(0)", "mt2": "timestamp(2)", "ms1": "timestamp(1)", "tm": "time(0)",
		"tms": "time(1)", "ztm": "timetz(0)", "nt": "timestamp(3)", "arr": "timestamp(0)[]", "zt6": "timestamptz(6)",
		"dt": "date",
	}})
	fields := map[string]string{
		"zt":  `{"type":"string","name":"io.debezium.time.ZonedTimestamp"}`,
		"zt6": `{"type":"string","name":"io.debezium.time.ZonedTimestamp"}`,
		"mt":  `{"type":"int64","name":"io.debezium.time.MicroTimestamp"}`,
		"mt2": `{"type":"int64","name":"io.debezium.time.MicroTimestamp"}`,
		"ms1": `{"type":"int64","name":"io.debezium.time.Timestamp"}`,
		"nt":  `{"type":"int64","name":"io.debezium.time.NanoTimestamp"}`,
		"tm":  `{"type":"int64","name":"io.debezium.time.MicroTime"}`,
		"tms": `{"type":"int32","name":"io.debezium.time.Time"}`,
		"ztm": `{"type":"string","name":"io.debezium.time.ZonedTime"}`,
		"arr": `{"type":"array","items":{"type":"int64","name":"io.debezium.time.MicroTimestamp"}}`,
		"dt":  `{"type":"int32","name":"io.debezium.time.Date"}`,
	}
	for _, tt := range []rangeCase{
		{"zoned timestamptz(0)", "zt", `"2024-01-02T03:04:05.6Z"`, `"2024-01-02T03:04:06Z"`, ""},
		{"zoned half before 2000", "zt", `"1999-12-31T23:59:58.5Z"`, `"1999-12-31T23:59:58Z"`, ""},
		{"zoned half after 2000", "zt", `"2000-01-01T00:00:00.5Z"`, `"2000-01-01T00:00:01Z"`, ""},
		{"zoned timestamptz(6)", "zt6", `"2024-01-02T03:04:05.1234567Z"`, `"2024-01-02T03:04:05.123457Z"`, ""},
		{"micro timestamp(0)", "mt", "1704164645600000", `"2024-01-02T03:04:06Z"`, ""},
		{"micro timestamp(2)", "mt2", "1700000000125000", `"2023-11-14T22:13:20.13Z"`, ""},
		{"milli timestamp(1)", "ms1", "1700000000125", `"2023-11-14T22:13:20.1Z"`, ""},
		{"nano timestamp(3)", "nt", "1700000000123456789", `"2023-11-14T22:13:20.123Z"`, ""},
		{"micro time(0)", "tm", "36000500000", `"10:00:01"`, ""},
		{"micro time(0) to 24:00:00", "tm", "86399600000", `"24:00:00"`, ""},
		{"milli time(1)", "tms", "36000550", `"10:00:00.600000"`, ""},
		{"zoned time timetz(0)", "ztm", `"10:00:00.6+02:00"`, `"08:00:01Z"`, ""},
		{"array timestamp(0)[]", "arr", "[1704164645600000, 1704164645400000]", `["2024-01-02T03:04:06Z","2024-01-02T03:04:05Z"]`, ""},
		{"date untouched", "dt", "19724", `"2024-01-02"`, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			checkRange(t, d, tt, pgRecord(fields, []string{tt.col}, `{"`+tt.col+`":`+tt.value+`}`))
		})
	}
}

// TestAvroDeclaredPrecisionOverLogicalTimes: the same through Avro, with
// Debezium's connect.name and Avro's own logical types.
func TestAvroDeclaredPrecisionOverLogicalTimes(t *testing.T) {
	const schema = `{"type":"record","name":"Envelope","namespace":"tp","fields":[
	  {"name":"before","type":["null",{"type":"record","name":"Value","fields":[
	    {"name":"mt","type":{"type":"long","connect.name":"io.debezium.time.MicroTimestamp"}},
	    {"name":"zt","type":["null",{"type":"string","connect.name":"io.debezium.time.ZonedTimestamp"}]},
	    {"name":"tm","type":{"type":"long","connect.name":"io.debezium.time.MicroTime"}},
	    {"name":"av","type":{"type":"long","logicalType":"timestamp-micros"}},
	    {"name":"plain","type":"long"}]}],"default":null},
	  {"name":"after","type":["null","Value"],"default":null},
	  {"name":"source","type":{"type":"record","name":"Source","fields":[{"name":"connector","type":"string"},{"name":"lsn","type":["null","long"]}]}},
	  {"name":"op","type":"string"}]}`
	d := mustDecoder(t, Options{Columns: map[string]string{
		"mt": "timestamp(0)", "zt": "timestamptz(0)", "tm": "time(0)", "av": "timestamp(1)", "plain": "timestamp(0)",
	}})
	if err := d.AddAvroSchema(1, schema); err != nil {
		t.Fatal(err)
	}
	value := frame(1, avroEncode(t, schema, map[string]any{
		"before": nil,
		"after": map[string]any{"tp.Value": map[string]any{
			"mt": int64(1704164645600000), "zt": map[string]any{"string": "2024-01-02T03:04:05.6Z"}, "tm": int64(36000500000),
			"av": int64(1700000000125000), "plain": int64(1704164645600),
		}},
		"source": map[string]any{"connector": "postgresql", "lsn": map[string]any{"long": int64(5)}},
		"op":     "c",
	}))
	ch, err := d.Decode(nil, value)
	if err != nil {
		t.Fatal(err)
	}
	for col, want := range map[string]string{
		"mt": `"2024-01-02T03:04:06Z"`, "zt": `"2024-01-02T03:04:06Z"`, "tm": `"10:00:01"`,
		"av": `"2023-11-14T22:13:20.1Z"`, "plain": `"2024-01-02T03:04:06Z"`,
	} {
		t.Run(col, func(t *testing.T) { wantJSON(t, Exact(ch.After[col]), want) })
	}
}
