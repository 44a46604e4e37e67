package debezium

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// pgRecord builds a schema-enabled PostgreSQL change event whose row has the
// given field schemas (JSON objects without "field") and after payload.
func pgRecord(fields map[string]string, order []string, after string) []byte {
	var fs []string
	for _, name := range order {
		f := fields[name]
		fs = append(fs, strings.TrimSuffix(f, "}")+`,"field":"`+name+`"}`)
	}
	row := `{"type":"struct","optional":true,"name":"s.public.t.Value","fields":[` + strings.Join(fs, ",") + `]`
	schema := `{"type":"struct","name":"s.public.t.Envelope","fields":[` +
		row + `,"field":"before"},` + row + `,"field":"after"},` +
		`{"type":"struct","name":"io.debezium.connector.postgresql.Source","field":"source","fields":[{"type":"int64","field":"lsn"}]},` +
		`{"type":"string","field":"op"}]}`
	payload := `{"before":null,"after":` + after + `,"source":{"connector":"postgresql","name":"s","schema":"public","table":"t","lsn":42,"snapshot":"false"},"op":"u"}`
	return []byte(`{"schema":` + schema + `,"payload":` + payload + `}`)
}

func mustDecoder(t testing.TB, opts Options) *Decoder {
	t.Helper()
	d, err := NewDecoder(opts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestLogicalTypesWithSchema(t *testing.T) {
	fields := map[string]string{
		"big":      `{"type":"int64"}`,
		"small":    `{"type":"int32"}`,
		"ts_micro": `{"type":"int64","name":"io.debezium.time.MicroTimestamp"}`,
		"ts_nano":  `{"type":"int64","name":"io.debezium.time.NanoTimestamp"}`,
		"ts_milli": `{"type":"int64","name":"io.debezium.time.Timestamp"}`,
		"ts_conn":  `{"type":"int64","name":"org.apache.kafka.connect.data.Timestamp"}`,
		"zoned":    `{"type":"string","name":"io.debezium.time.ZonedTimestamp"}`,
		"ztime":    `{"type":"string","name":"io.debezium.time.ZonedTime"}`,
		"t_micro":  `{"type":"int64","name":"io.debezium.time.MicroTime"}`,
		"t_milli":  `{"type":"int32","name":"io.debezium.time.Time"}`,
		"t_nano":   `{"type":"int64","name":"io.debezium.time.NanoTime"}`,
		"d_conn":   `{"type":"int32","name":"org.apache.kafka.connect.data.Date"}`,
		"vsd":      `{"type":"struct","name":"io.debezium.data.VariableScaleDecimal","fields":[{"type":"int32","field":"scale"},{"type":"bytes","field":"value"}]}`,
		"neg":      `{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"}}`,
		"money":    `{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"}}`,
		"mood":     `{"type":"string","name":"io.debezium.data.Enum","parameters":{"allowed":"happy,sad"}}`,
		"moods":    `{"type":"string","name":"io.debezium.data.EnumSet","parameters":{"allowed":"a,b,c"}}`,
		"tags":     `{"type":"array","items":{"type":"string"}}`,
		"days":     `{"type":"array","items":{"type":"int32","name":"io.debezium.time.Date"}}`,
		"doc":      `{"type":"string","name":"io.debezium.data.Json"}`,
		"uid":      `{"type":"string","name":"io.debezium.data.Uuid"}`,
		"blob":     `{"type":"bytes"}`,
		"dur":      `{"type":"int64","name":"io.debezium.time.MicroDuration"}`,
		"ival":     `{"type":"string","name":"io.debezium.time.Interval"}`,
		"f":        `{"type":"double"}`,
		"fint":     `{"type":"int64"}`,
		"nan":      `{"type":"double"}`,
		"geo":      `{"type":"struct","name":"io.debezium.data.geometry.Geometry","fields":[{"type":"bytes","field":"wkb"},{"type":"int32","optional":true,"field":"srid"}]}`,
		"inf":      `{"type":"int64","name":"io.debezium.time.MicroTimestamp"}`,
		"tsinf":    `{"type":"string","name":"io.debezium.time.ZonedTimestamp"}`,
	}
	var order []string
	for k := range fields {
		order = append(order, k)
	}
	after := `{"big":9223372036854775807,"small":-2147483648,
		"ts_micro":1665791731989360,"ts_nano":1665791731989360123,"ts_milli":1713229699440,"ts_conn":0,
		"zoned":"2022-10-15T05:55:31.467000+02:00","ztime":"10:15:30.5+02:00",
		"t_micro":86131989360,"t_milli":3600000,"t_nano":1000000001,"d_conn":-1,
		"vsd":{"scale":3,"value":"AeJA"},"neg":"/zg=","money":"AMg=",
		"mood":"happy","moods":"a,c","tags":["x","y"],"days":[0,19279],
		"doc":"{\"a\": [1, 2.50, 12345678901234567890]}","uid":"60F14FE2-F857-404A-B586-3B5375B3259F",
		"blob":"AAEC","dur":3600000000,"ival":"P1Y2M3DT4H5M6.78S","f":1.5e300,"fint":1.0,"nan":"NaN",
		"geo":{"wkb":"AQ==","srid":4326},"inf":9223372036825200000,"tsinf":"infinity"}`
	d := mustDecoder(t, Options{})
	ch, err := d.Decode(nil, pgRecord(fields, order, after))
	if err != nil {
		t.Fatal(err)
	}
	a := ch.After
	tests := []struct {
		col  string
		json string
	}{
		{"big", `9223372036854775807`},
		{"small", `-2147483648`},
		{"ts_micro", `"2022-10-14T23:55:31.98936Z"`},
		{"ts_nano", `"2022-10-14T23:55:31.98936Z"`}, // PostgreSQL's microseconds,
		{"ts_milli", `"2024-04-16T01:08:19.44Z"`},
		{"ts_conn", `"1970-01-01T00:00:00Z"`},
		{"zoned", `"2022-10-15T03:55:31.467Z"`},
		{"ztime", `"08:15:30.500000Z"`},
		{"t_micro", `"23:55:31.989360"`},
		{"t_milli", `"01:00:00"`},
		{"t_nano", `"00:00:01"`},
		{"d_conn", `"1969-12-31"`},
		{"vsd", `"123.456"`},
		{"neg", `"-2"`},
		{"money", `"2"`},
		{"mood", `"happy"`},
		{"moods", `["a","c"]`},
		{"tags", `["x","y"]`},
		{"days", `["1970-01-01","2022-10-14"]`},
		{"doc", `{"a":[1,2.50,12345678901234567890]}`},
		{"uid", `"60f14fe2-f857-404a-b586-3b5375b3259f"`},
		{"blob", `"AAEC"`},
		{"dur", `3600000000`},
		{"ival", `"P1Y2M3DT4H5M6.78S"`},
		{"f", `1.5e+300`},
		{"fint", `1`},
		{"nan", `"NaN"`},
		{"geo", `{"srid":4326,"wkb":"AQ=="}`},
		{"inf", `"infinity"`},
		{"tsinf", `"infinity"`},
	}
	for _, tt := range tests {
		t.Run(tt.col, func(t *testing.T) {
			wantJSON(t, a[tt.col], tt.json)
		})
	}
	if v, ok := a["big"].(int64); !ok || v != math.MaxInt64 {
		t.Errorf("big = %#v, want int64 max", a["big"])
	}
	if v, ok := a["fint"].(int64); !ok || v != 1 {
		t.Errorf("1.0 in an int64 field = %#v, want int64 1", a["fint"])
	}
	if _, ok := a["doc"].(json.RawMessage); !ok {
		t.Errorf("Json column = %T, want json.RawMessage", a["doc"])
	}
	if tm, ok := a["ts_micro"].(time.Time); !ok || tm.Location() != time.UTC {
		t.Errorf("timestamp not UTC: %#v", a["ts_micro"])
	}
}

func TestToastPlaceholder(t *testing.T) {
	fields := map[string]string{
		"id":    `{"type":"int32"}`,
		"body":  `{"type":"string"}`,
		"tags":  `{"type":"array","items":{"type":"string"}}`,
		"attrs": `{"type":"map","keys":{"type":"string"},"values":{"type":"string"}}`,
		"raw":   `{"type":"bytes"}`,
		"uid":   `{"type":"string","name":"io.debezium.data.Uuid"}`,
		"doc":   `{"type":"string","name":"io.debezium.data.Json"}`,
	}
	order := []string{"id", "body", "tags", "attrs", "raw", "uid", "doc"}
	tests := []struct {
		name      string
		after     string
		unchanged []string
	}{
		{"string", `{"id":1,"body":"__debezium_unavailable_value","tags":["a"],"attrs":null,"raw":null,"uid":null,"doc":null}`, []string{"body"}},
		{"array", `{"id":1,"body":"x","tags":["__debezium_unavailable_value"],"attrs":null,"raw":null,"uid":null,"doc":null}`, []string{"tags"}},
		{"map key", `{"id":1,"body":"x","tags":null,"attrs":{"__debezium_unavailable_value":"__debezium_unavailable_value"},"raw":null,"uid":null,"doc":null}`, []string{"attrs"}},
		{"bytea base64", `{"id":1,"body":"x","tags":null,"attrs":null,"raw":"X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==","uid":null,"doc":null}`, []string{"raw"}},
		{"typed columns", `{"id":1,"body":"x","tags":null,"attrs":null,"raw":null,"uid":"__debezium_unavailable_value","doc":"__debezium_unavailable_value"}`, []string{"doc", "uid"}},
		{"several", `{"doc":"__debezium_unavailable_value","id":1,"body":"__debezium_unavailable_value","tags":[ "__debezium_unavailable_value" ]}`, []string{"body", "doc", "tags"}},
	}
	d := mustDecoder(t, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, err := d.Decode(nil, pgRecord(fields, order, tt.after))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(ch.Unchanged, ",") != strings.Join(tt.unchanged, ",") {
				t.Errorf("unchanged = %v, want %v", ch.Unchanged, tt.unchanged)
			}
			for _, c := range tt.unchanged {
				if _, ok := ch.After[c]; ok {
					t.Errorf("%s still in after", c)
				}
			}
			if ch.After["id"] != int64(1) {
				t.Errorf("id = %v", ch.After["id"])
			}
			out, _ := json.Marshal(ch)
			if strings.Contains(string(out), Placeholder) || strings.Contains(string(out), "X19kZWJleml1bV91") {
				t.Errorf("placeholder in output: %s", out)
			}
		})
	}
}

func TestSchemalessHints(t *testing.T) {
	opts := Options{Columns: map[string]string{
		"price": "numeric(10,2)", "amount": "numeric", "m": "money", "d": "date", "ts": "timestamp",
		"tsz": "timestamptz", "t": "time(6)", "j": "jsonb", "u": "uuid", "b": "bytea", "tags": "text[]",
		"dates": "date[]", "n": "bigint", "iv": "interval", "s": "decimal(5,2)", "dbl": "numeric(12,4)",
	}, TimestampUnit: "us"}
	d := mustDecoder(t, opts)
	value := `{"op":"c","source":{"connector":"postgresql","lsn":7},"after":{
		"price":"D54=","amount":{"scale":1,"value":"AQ=="},"m":"AMg=","d":19279,"ts":1665791731989360,
		"tsz":"2022-10-15T03:55:31.98936Z","t":3600000001,"j":"{\"x\":1}","u":"60f14fe2f857404ab5863b5375b3259f",
		"b":"AAE=","tags":["a"],"dates":[1],"n":9223372036854775807,"iv":"P1D","s":"12.50","dbl":1234.5678,"other":1.0}}`
	ch, err := d.Decode([]byte(`{"n":1}`), []byte(value))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"price": `"39.98"`, "amount": `"0.1"`, "m": `"2"`, "d": `"2022-10-14"`, "ts": `"2022-10-14T23:55:31.98936Z"`,
		"tsz": `"2022-10-15T03:55:31.98936Z"`, "t": `"01:00:00.000001"`, "j": `{"x":1}`,
		"u": `"60f14fe2-f857-404a-b586-3b5375b3259f"`, "b": `"AAE="`, "tags": `["a"]`, "dates": `["1970-01-02"]`,
		"n": `9223372036854775807`, "iv": `"P1D"`, "s": `"12.5"`, "dbl": `"1234.5678"`, "other": `1`,
	}
	for col, js := range want {
		t.Run(col, func(t *testing.T) { wantJSON(t, ch.After[col], js) })
	}
	if _, ok := ch.After["other"].(float64); !ok {
		t.Errorf("a schemaless 1.0 without a hint = %T, want float64", ch.After["other"])
	}
}

func TestNewDecoderErrors(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		ok   bool
	}{
		{"plain types", Options{Columns: map[string]string{"a": "character varying(20)", "b": "timestamp(3) with time zone", "c": "integer[][]", "d": "my_enum"}}, true},
		{"bad scale", Options{Columns: map[string]string{"price": "numeric(10,x)"}}, false},
		{"scale above precision", Options{Columns: map[string]string{"price": "numeric(2,5)"}}, false},
		{"unbalanced", Options{Columns: map[string]string{"price": "numeric(10,2"}}, false},
		{"empty", Options{Columns: map[string]string{"x": " "}}, false},
		{"bad unit", Options{TimestampUnit: "s"}, false},
		{"bad format", Options{Format: Format(9)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewDecoder(tt.opts)
			if (err == nil) != tt.ok {
				t.Errorf("err = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestParseFormat(t *testing.T) {
	tests := []struct {
		in   string
		want Format
		ok   bool
	}{
		{"", FormatAuto, true}, {"auto", FormatAuto, true}, {"JSON", FormatJSON, true},
		{"avro", FormatAvro, true}, {"unwrapped", FormatUnwrapped, true}, {"protobuf", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseFormat(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseFormat(%q) = %v, %v", tt.in, got, err)
		}
	}
}

func TestMalformed(t *testing.T) {
	decimalBadScale := `{"schema":{"type":"struct","fields":[{"type":"struct","field":"after","fields":[{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"x"},"field":"price"}]},{"type":"string","field":"op"}]},"payload":{"op":"c","after":{"price":"AQ=="}}}`
	tests := []struct {
		name, key, value string
		opts             Options
		path             string // the error must name it
	}{
		{"truncated", "", `{"op":"c","after":{"id":1`, Options{}, "payload"},
		{"not an object", "", `[1,2]`, Options{}, "value"},
		{"trailing data", "", `{"op":"c"} x`, Options{}, "payload"},
		{"unknown op", "", `{"op":"x","after":{}}`, Options{}, "payload.op"},
		{"missing op", "", `{"after":{"a":1},"source":{}}`, Options{Format: FormatJSON}, "payload"},
		// Detected as an envelope that lost its op, not a row of columns
		// "before", "after" and "source".
		{"missing op detected", "", `{"before":null,"after":{"id":"k1","x":"a"},"source":{"connector":"postgresql","lsn":10}}`, Options{}, "payload.op"},
		{"op not a string", "", `{"op":1,"after":{}}`, Options{}, "payload.op"},
		{"source lsn string", "", `{"op":"c","after":{},"source":{"lsn":"12"}}`, Options{}, "payload.source.lsn"},
		{"bad decimal scale", "", decimalBadScale, Options{}, "payload.after.price"},
		{"bad base64", "", `{"op":"c","after":{"price":"%%%"}}`, Options{Columns: map[string]string{"price": "numeric(10,2)"}}, "payload.after.price"},
		{"wrong type int", "", `{"op":"c","after":{"n":"one"}}`, Options{Columns: map[string]string{"n": "bigint"}}, "payload.after.n"},
		{"fraction in int", "", `{"op":"c","after":{"n":1.5}}`, Options{Columns: map[string]string{"n": "bigint"}}, "payload.after.n"},
		{"int overflow", "", `{"op":"c","after":{"n":9223372036854775808}}`, Options{Columns: map[string]string{"n": "bigint"}}, "payload.after.n"},
		{"bad uuid", "", `{"op":"c","after":{"u":"nope"}}`, Options{Columns: map[string]string{"u": "uuid"}}, "payload.after.u"},
		{"bad json column", "", `{"op":"c","after":{"j":"{"}}`, Options{Columns: map[string]string{"j": "jsonb"}}, "payload.after.j"},
		{"bad date", "", `{"op":"c","after":{"d":"2020-02-30"}}`, Options{Columns: map[string]string{"d": "date"}}, "payload.after.d"},
		{"bad mongo after", "", `{"op":"c","after":"{\"_id\": {\"$oid\": \"zz\"}}","source":{"connector":"mongodb"}}`, Options{}, "payload.after._id.$oid"},
		{"mongo after not json", "", `{"op":"c","after":"{nope","source":{"connector":"mongodb"}}`, Options{}, "payload.after"},
		{"bad key", `Struct{`, `{"op":"c","after":{}}`, Options{}, "key"},
		{"key not object", `[1]`, `{"op":"c","after":{}}`, Options{}, "key"},
		{"bad mongo key", `{"id":"{\"$oid\": 1}"}`, `{"op":"c","after":"{}","source":{"connector":"mongodb"}}`, Options{}, "key.id.$oid"},
		{"unwrapped deleted", "", `{"id":1,"__deleted":"maybe"}`, Options{}, "payload.__deleted"},
		{"unwrapped op", "", `{"id":1,"__op":"z"}`, Options{Format: FormatUnwrapped}, "payload.__op"},
		{"tx without id", "", `{"status":"END","event_count":1}`, Options{Format: FormatJSON}, "payload"},
		{"deep nesting", "", `{"op":"c","after":{"a":` + strings.Repeat("[", 2000) + strings.Repeat("]", 2000) + `}}`, Options{}, "payload.after.a"},
		{"control char", "", "{\"op\":\"c\",\"after\":{\"a\":\"x\x01\"}}", Options{}, "payload.after"},
		{"bad schema", "", `{"schema":{"type":1},"payload":{"op":"c"}}`, Options{}, "schema"},
		{"timestamp out of range", "", `{"op":"c","after":{"ts":9000000000000000000}}`, Options{Columns: map[string]string{"ts": "timestamp"}}, "payload.after.ts"},
		{"avro too short", "", "\x00\x00\x01", Options{}, "value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := mustDecoder(t, tt.opts)
			var key []byte
			if tt.key != "" {
				key = []byte(tt.key)
			}
			_, err := d.Decode(key, []byte(tt.value))
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			var me *MalformedError
			if !errors.As(err, &me) || !strings.HasPrefix(me.Path, tt.path) {
				t.Errorf("error %q: path %q, want prefix %q", err, me.Path, tt.path)
			}
		})
	}
}

func TestDecimalScaleErrorMessage(t *testing.T) {
	v := `{"schema":{"type":"struct","fields":[{"type":"struct","field":"after","fields":[{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"x"},"field":"price"}]},{"type":"string","field":"op"}]},"payload":{"op":"c","after":{"price":"AQ=="}}}`
	_, err := mustDecoder(t, Options{}).Decode(nil, []byte(v))
	want := `payload.after.price: decimal scale "x" is not an integer`
	if err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Errorf("error = %v, want it to end with %s", err, want)
	}
}

func asMalformed(err error, me **MalformedError) bool {
	return errors.Is(err, ErrMalformed) && errors.As(err, me)
}

// TestConcurrentDecode shares one Decoder (and its schema caches) between
// goroutines; run with -race.
func TestConcurrentDecode(t *testing.T) {
	samples := loadSamples(t)
	d := mustDecoder(t, Options{})
	want := make([]string, len(samples))
	for i, s := range samples {
		ch, err := d.Decode(s.key, s.value)
		if err == nil {
			b, _ := json.Marshal(ch)
			want[i] = string(b)
		}
	}
	d = mustDecoder(t, Options{}) // fresh caches, filled concurrently
	done := make(chan error)
	for g := 0; g < 4; g++ {
		go func() {
			for round := 0; round < 20; round++ {
				for i, s := range samples {
					ch, err := d.Decode(s.key, s.value)
					if err != nil {
						continue
					}
					if b, _ := json.Marshal(ch); string(b) != want[i] {
						done <- errors.New(s.name + ": " + string(b))
						return
					}
				}
			}
			done <- nil
		}()
	}
	for g := 0; g < 4; g++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// TestDeclaredScaleApplies: a value of a column declared numeric(p,s) has
// s digits after the point however it reached the record: as a double
// (decimal.handling.mode=double, MongoDB), as text, or as base64.
func TestDeclaredScaleApplies(t *testing.T) {
	d := mustDecoder(t, Options{Columns: map[string]string{"price": "numeric(10,2)", "whole": "numeric(8)", "free": "numeric"}})
	tests := []struct{ after, col, want string }{
		{`{"price":10.5}`, "price", "10.50"},
		{`{"price":10.499999999999998}`, "price", "10.50"},
		{`{"price":"7"}`, "price", "7.00"},
		{`{"price":"12.50"}`, "price", "12.50"},
		{`{"price":"D54="}`, "price", "39.98"},
		{`{"price":-0.005}`, "price", "-0.01"},
		{`{"whole":2.5}`, "whole", "3"},
		{`{"free":10.5}`, "free", "10.5"},
		{`{"free":"10.50"}`, "free", "10.50"},
	}
	for _, tt := range tests {
		t.Run(tt.after, func(t *testing.T) {
			ch, err := d.Decode(nil, []byte(`{"op":"c","source":{"connector":"postgresql","lsn":7},"after":`+tt.after+`}`))
			if err != nil {
				t.Fatal(err)
			}
			if got := Exact(ch.After[tt.col]); got != tt.want {
				t.Errorf("%s = %v, want %s", tt.col, got, tt.want)
			}
		})
	}
}

// TestNULBecomesReplacementCharacter: no PostgreSQL text or jsonb value
// can hold NUL, so a string carrying one (MongoDB and Avro strings can)
// would fail its batch's state write forever; it reads as U+FFFD instead,
// in values, keys and MongoDB documents alike.
func TestNULBecomesReplacementCharacter(t *testing.T) {
	d := mustDecoder(t, Options{})
	ch, err := d.Decode([]byte(`{"id":"k\u0000"}`), []byte(`{"op":"c","source":{"connector":"postgresql","lsn":7},"after":{"id":"k\u0000","note":"a\u0000b\u0000","ünï":"\u0000é"}}`))
	if err != nil {
		t.Fatal(err)
	}
	wantEq(t, "key", ch.Key["id"], "k\uFFFD")
	wantEq(t, "note", ch.After["note"], "a\uFFFDb\uFFFD")
	wantEq(t, "ünï", ch.After["ünï"], "\uFFFDé")

	m, err := d.Decode([]byte(`{"id":"{\"$oid\":\"60f14fe2f857404ab5863b53\"}"}`), mongoValue("c", `{"_id":{"$oid":"60f14fe2f857404ab5863b53"},"name":"x\u0000y"}`, "", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	wantEq(t, "mongo name", m.After["name"], "x\uFFFDy")

	if got := string(validText([]byte("a\x00\xffb"))); got != "a\uFFFD\uFFFDb" {
		t.Errorf("validText(a NUL 0xff b) = %q, want %q", got, "a\uFFFD\uFFFDb")
	}
}
