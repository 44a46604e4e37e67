package debezium

import "testing"

// TestValuesAsTheirColumnHoldsThem: a time or timestamp is rounded to the
// fractional digits its PostgreSQL column keeps (the declared p, else 6),
// as PostgreSQL rounds it, and a real to a float32 written in its shortest
// form, so that every store holds what the PostgreSQL column does; no
// float is -0. A real beyond a real's range is malformed, as PostgreSQL
// refuses it.
func TestValuesAsTheirColumnHoldsThem(t *testing.T) {
	d := mustDecoder(t, Options{Columns: map[string]string{
		"tz0": "timestamptz(0)", "tz": "timestamptz", "ts": "timestamp", "ts2": "timestamp(2)",
		"tm": "time", "tm0": "time(0)", "ttz": "timetz", "r": "real", "f4": "float4", "dp": "double precision",
		"rs": "real[]",
	}})
	for _, tt := range []rangeCase{
		{"timestamptz(0)", "tz0", `"2024-01-02T03:04:05.6Z"`, `"2024-01-02T03:04:06Z"`, ""},
		{"timestamptz(0) ms", "tz0", "1700000000623", `"2023-11-14T22:13:21Z"`, ""},
		{"timestamptz(0) half before 2000", "tz0", `"1999-12-31T23:59:58.5Z"`, `"1999-12-31T23:59:58Z"`, ""},
		{"timestamptz(0) half after 2000", "tz0", `"2000-01-01T00:00:00.5Z"`, `"2000-01-01T00:00:01Z"`, ""},
		{"timestamptz microseconds", "tz", `"2024-01-02T03:04:05.1234567Z"`, `"2024-01-02T03:04:05.123457Z"`, ""},
		{"a half microsecond to even", "tz", `"2024-01-02T03:04:05.1234565Z"`, `"2024-01-02T03:04:05.123456Z"`, ""},
		{"timestamp microseconds", "ts", `"2024-01-02T03:04:05.9999999"`, `"2024-01-02T03:04:06Z"`, ""},
		{"timestamp(2) ms", "ts2", "1700000000125", `"2023-11-14T22:13:20.13Z"`, ""},
		{"time to 24:00:00", "tm", `"23:59:59.9999999"`, `"24:00:00"`, ""},
		{"time six digits", "tm", `"10:00:00.5"`, `"10:00:00.500000"`, ""},
		{"time(0)", "tm0", `"10:00:00.4999995"`, `"10:00:01"`, ""},
		{"time(0) ms", "tm0", "36000500", `"10:00:01"`, ""},
		{"timetz", "ttz", `"10:00:00.0000015+02:00"`, `"08:00:00.000002Z"`, ""},
		{"real", "r", "3.14159265358979", "3.1415927", ""},
		{"float4", "f4", "16777217", "16777216", ""},
		{"real rounds the literal once", "r", "1.00000005960464477539", "1", ""},
		{"real subnormal", "r", "1e-40", "1e-40", ""},
		{"real -0", "r", "-0.0", "0", ""},
		{"double -0", "dp", "-0.0", "0", ""},
		{"real array", "rs", "[0.1, 3.14159265358979]", "[0.1,3.1415927]", ""},
		{"real overflow", "r", "1e39", "", "out of range for real"},
		{"real underflow", "r", "1e-50", "", "out of range for real"},
	} {
		t.Run(tt.name, func(t *testing.T) { checkRange(t, d, tt, pgSchemaless(tt.col, tt.value)) })
	}
}

// TestSchemaValuesAsPostgreSQLHoldsThem: a schema's NanoTimestamp and
// NanoTime keep PostgreSQL's microseconds, its float32 a real's digits, and
// a double declared real is rounded to one.
func TestSchemaValuesAsPostgreSQLHoldsThem(t *testing.T) {
	d := mustDecoder(t, Options{Columns: map[string]string{"dr": "real"}})
	fields := map[string]string{
		"ts": `{"type":"int64","name":"io.debezium.time.NanoTimestamp"}`,
		"tm": `{"type":"int64","name":"io.debezium.time.NanoTime"}`,
		"f":  `{"type":"float32"}`,
		"dr": `{"type":"float64"}`,
		"zt": `{"type":"string","name":"io.debezium.time.ZonedTimestamp"}`,
	}
	for _, tt := range []rangeCase{
		{"nano timestamp", "ts", "1665791731989360500", `"2022-10-14T23:55:31.98936Z"`, ""},
		{"nano time", "tm", "86399999999999", `"24:00:00"`, ""},
		{"float32", "f", "3.14159265358979", "3.1415927", ""},
		{"double declared real", "dr", "16777217", "16777216", ""},
		{"zoned nanoseconds", "zt", `"2022-10-14T23:55:31.123456789Z"`, `"2022-10-14T23:55:31.123457Z"`, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			checkRange(t, d, tt, pgRecord(fields, []string{tt.col}, `{"`+tt.col+`":`+tt.value+`}`))
		})
	}
}

// TestMongoValuesAsTheirColumnHoldsThem: a MongoDB $date carries
// milliseconds, which a timestamp(0) or time(0) column rounds away; a
// double in a real column is a real.
func TestMongoValuesAsTheirColumnHoldsThem(t *testing.T) {
	d := mustDecoder(t, Options{Columns: map[string]string{"ts0": "timestamp(0)", "tm0": "time(0)", "r": "real"}})
	for _, tt := range []rangeCase{
		{"timestamp(0)", "ts0", `{"$date": 1700000000623}`, `"2023-11-14T22:13:21Z"`, ""},
		{"time(0)", "tm0", `{"$date": 1700000000623}`, `"22:13:21"`, ""},
		{"real", "r", `3.14159265358979`, "3.1415927", ""},
		{"real -0", "r", `-0.0`, "0", ""},
		{"real overflow", "r", `{"$numberDouble": "1e39"}`, "", "out of range for real"},
	} {
		t.Run(tt.name, func(t *testing.T) { checkRange(t, d, tt, mongoDoc(tt.col, tt.value)) })
	}
}
