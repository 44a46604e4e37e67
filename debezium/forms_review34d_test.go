package debezium

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// The same PostgreSQL row change, decoded from each form Debezium emits it
// in: JsonConverter with and without schemas, AvroConverter, and the
// output of ExtractNewRecordState (JSON with and without schemas, Avro).
// README "What it decodes": projector "detects the form by itself"; a
// source's declared columns: are the hints "JSON cannot carry" without a
// schema, and with one "refine only fields the schema leaves plain".

// R34dColumn is one column v of a row {id, v}: its declared type, its
// Connect schema (JsonConverter), its payload JSON, and its Avro type and
// value (for hamba/avro).
type R34dColumn struct {
	decl     string
	schema   string
	json     string
	avroType string
	avroVal  any
}

var R34dAvroSeq = 7000

// R34dForms returns the record value of each form holding the row
// {"id": 1, "v": c}.
func R34dForms(t *testing.T, d *Decoder, c R34dColumn) map[string][]byte {
	t.Helper()
	field := strings.TrimSuffix(c.schema, "}") + `,"field":"v"}`
	row := `{"type":"struct","optional":true,"name":"s.public.t.Value","fields":[{"type":"int64","field":"id"},` + field + `]`
	env := `{"before":null,"after":{"id":1,"v":` + c.json + `},"source":{"connector":"postgresql","name":"s","schema":"public","table":"t","lsn":42},"op":"u"}`
	envSchema := `{"type":"struct","name":"s.public.t.Envelope","fields":[` + row + `,"field":"before"},` + row + `,"field":"after"},` +
		`{"type":"struct","name":"io.debezium.connector.postgresql.Source","field":"source","fields":[{"type":"string","field":"connector"},` +
		`{"type":"string","field":"name"},{"type":"string","field":"schema"},{"type":"string","field":"table"},{"type":"int64","optional":true,"field":"lsn"}]},` +
		`{"type":"string","field":"op"}]}`
	unw := `{"id":1,"v":` + c.json + `,"__op":"u","__lsn":42,"__deleted":"false"}`
	unwSchema := `{"type":"struct","name":"s.public.t.Value","fields":[{"type":"int64","field":"id"},` + field +
		`,{"type":"string","optional":true,"field":"__op"},{"type":"int64","optional":true,"field":"__lsn"},{"type":"string","optional":true,"field":"__deleted"}]}`

	R34dAvroSeq += 2
	ns := fmt.Sprintf("r34d%d.public.t", R34dAvroSeq)
	avroEnv := `{"type":"record","name":"Envelope","namespace":"` + ns + `","connect.name":"` + ns + `.Envelope","fields":[
	  {"name":"before","type":["null",{"type":"record","name":"Value","connect.name":"` + ns + `.Value","fields":[
	    {"name":"id","type":"long"},{"name":"v","type":` + c.avroType + `}]}],"default":null},
	  {"name":"after","type":["null","Value"],"default":null},
	  {"name":"source","type":{"type":"record","name":"Source","namespace":"io.debezium.connector.postgresql","fields":[
	    {"name":"connector","type":"string"},{"name":"lsn","type":["null","long"]}]}},
	  {"name":"op","type":"string"}]}`
	avroUnw := `{"type":"record","name":"Value","namespace":"` + ns + `u","connect.name":"` + ns + `u.Value","fields":[
	    {"name":"id","type":"long"},{"name":"v","type":` + c.avroType + `},
	    {"name":"__op","type":["null","string"],"default":null},{"name":"__lsn","type":["null","long"],"default":null},
	    {"name":"__deleted","type":["null","string"],"default":null}]}`
	if err := d.AddAvroSchema(R34dAvroSeq, avroEnv); err != nil {
		t.Fatal(err)
	}
	if err := d.AddAvroSchema(R34dAvroSeq+1, avroUnw); err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{
		"json with schema":              []byte(`{"schema":` + envSchema + `,"payload":` + env + `}`),
		"json without schema":           []byte(env),
		"unwrapped json with schema":    []byte(`{"schema":` + unwSchema + `,"payload":` + unw + `}`),
		"unwrapped json without schema": []byte(unw),
		"avro": frame(R34dAvroSeq, avroEncode(t, avroEnv, map[string]any{
			"before": nil,
			"after":  map[string]any{ns + ".Value": map[string]any{"id": int64(1), "v": c.avroVal}},
			"source": map[string]any{"connector": "postgresql", "lsn": map[string]any{"long": int64(42)}},
			"op":     "u",
		})),
		"unwrapped avro": frame(R34dAvroSeq+1, avroEncode(t, avroUnw, map[string]any{
			"id": int64(1), "v": c.avroVal,
			"__op": map[string]any{"string": "u"}, "__lsn": map[string]any{"long": int64(42)}, "__deleted": map[string]any{"string": "false"},
		})),
	}
}

var R34dFormOrder = []string{"json with schema", "json without schema", "unwrapped json with schema",
	"unwrapped json without schema", "avro", "unwrapped avro"}

// R34dDecodeV decodes each form and returns v's value as Go type and JSON
// ("%T %s"), or the error.
func R34dDecodeV(t *testing.T, c R34dColumn) map[string]string {
	t.Helper()
	d := mustDecoder(t, Options{Columns: map[string]string{"id": "bigint", "v": c.decl}})
	out := map[string]string{}
	for form, value := range R34dForms(t, d, c) {
		ch, err := d.Decode([]byte(`{"id":1}`), value)
		if err != nil {
			out[form] = "error: " + err.Error()
			continue
		}
		b, _ := json.Marshal(Exact(ch.After["v"]))
		out[form] = fmt.Sprintf("%T %s", ch.After["v"], b)
	}
	return out
}

func R34dShow(out map[string]string) string {
	var b strings.Builder
	for _, f := range R34dFormOrder {
		fmt.Fprintf(&b, "\n  %-30s %s", f, out[f])
	}
	return b.String()
}

// TestR34dHstoreDeclaredTextIsText: config/types.go tells a user to
// declare an hstore column "text (Debezium sends it as JSON text by
// default)" (hstore.handling.mode=json: an io.debezium.data.Json string),
// and README says a field typed text is text "the same in every store".
// Without a schema the column reads the string Debezium sent. With a
// schema (JsonConverter or Avro) the Json logical type wins over the
// declared text (compileRow keeps it: baseCodec returns no codec for
// text, so no hint exists to refine it), and the "text" column holds a
// JSON object: `projector test --print` shows the document's v as
// {a: "1"} instead of '{"a":"1"}', and an expression over it
// (v startsWith "{") gives null instead of true. The same row must read
// the same text whatever the converter.
func TestR34dHstoreDeclaredTextIsText(t *testing.T) {
	out := R34dDecodeV(t, R34dColumn{
		decl:     "text",
		schema:   `{"type":"string","optional":true,"name":"io.debezium.data.Json","version":1}`,
		json:     `"{\"a\":\"1\"}"`,
		avroType: `["null",{"type":"string","connect.version":1,"connect.name":"io.debezium.data.Json"}]`,
		avroVal:  map[string]any{"string": `{"a":"1"}`},
	})
	const want = `string "{\"a\":\"1\"}"`
	for _, f := range R34dFormOrder {
		if out[f] != want {
			t.Errorf("an hstore (Json) column declared text does not read as the same text in every form; want %s in each:%s", want, R34dShow(out))
			return
		}
	}
}

// TestR34dTimetzDeclaredTextSameInEveryForm: config/types.go: declare a
// timetz "text (Debezium sends it as text in UTC, 10:15:30.123456Z)".
// Debezium's io.debezium.time.ZonedTime is formatted with Java's
// DateTimeFormatter.ISO_OFFSET_TIME, which writes as few fraction digits
// as the value needs ("10:15:30.5Z"). Without a schema the text column
// keeps that text; with a schema (JSON or Avro) the ZonedTime logical
// type normalises it to "10:15:30.500000Z" although the column is
// declared text. The same row thus holds different text by converter (a
// where `t == "10:15:30.5Z"` or a join on it matches in one deployment
// and not in the other).
func TestR34dTimetzDeclaredTextSameInEveryForm(t *testing.T) {
	out := R34dDecodeV(t, R34dColumn{
		decl:     "text",
		schema:   `{"type":"string","optional":true,"name":"io.debezium.time.ZonedTime","version":1}`,
		json:     `"10:15:30.5Z"`,
		avroType: `["null",{"type":"string","connect.version":1,"connect.name":"io.debezium.time.ZonedTime"}]`,
		avroVal:  map[string]any{"string": "10:15:30.5Z"},
	})
	first := out[R34dFormOrder[0]]
	for _, f := range R34dFormOrder[1:] {
		if out[f] != first {
			t.Errorf("a timetz (ZonedTime) column declared text reads differently by form:%s", R34dShow(out))
			return
		}
	}
}

// TestR34dIntegerColumnOverStringDecimal: with
// decimal.handling.mode=string a numeric column is a plain Connect
// string ("12.00"). README: "Any integer column holds no fraction: a
// Connect Decimal, VariableScaleDecimal or double there must be a whole
// number in range (12.00 reads 12; 12.50 ... malformed)", and "Values
// PostgreSQL would refuse are dead letters, named by column". A column
// declared bigint over such a string is neither read nor checked with a
// schema (JSON or Avro): narrows/refines (schema.go) and hintApplies
// (avroread.go) leave a plain string alone for an integer hint, so the
// bigint column holds the string "12.50" (an expr n + 1 gives 13, the
// PostgreSQL view refuses the document); without a schema the same
// "12.00" is a dead letter ("expected an integer, found a string").
func TestR34dIntegerColumnOverStringDecimal(t *testing.T) {
	col := func(v string) R34dColumn {
		return R34dColumn{decl: "bigint", schema: `{"type":"string","optional":true}`, json: `"` + v + `"`,
			avroType: `["null","string"]`, avroVal: map[string]any{"string": v}}
	}
	whole := R34dDecodeV(t, col("12.00"))
	for _, f := range R34dFormOrder {
		if whole[f] != "int64 12" {
			t.Errorf(`"12.00" (decimal.handling.mode=string) in a column declared bigint must read 12 in every form:%s`, R34dShow(whole))
			break
		}
	}
	frac := R34dDecodeV(t, col("12.50"))
	for _, f := range R34dFormOrder {
		if !strings.HasPrefix(frac[f], "error: ") {
			t.Errorf(`"12.50" (decimal.handling.mode=string) in a column declared bigint must be malformed in every form:%s`, R34dShow(frac))
			break
		}
	}
	// The errors must be ErrMalformed (dead letters), as the other
	// integer checks are.
	d := mustDecoder(t, Options{Columns: map[string]string{"id": "bigint", "v": "bigint"}})
	for form, value := range R34dForms(t, d, col("12.50")) {
		if _, err := d.Decode([]byte(`{"id":1}`), value); err != nil && !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v does not wrap ErrMalformed", form, err)
		}
	}
}

// TestR34dSchemalessVariableScaleDecimalInIntegerColumn: a numeric column
// without a typmod is an io.debezium.data.VariableScaleDecimal under the
// default decimal.handling.mode=precise, written without schemas as
// {"scale":0,"value":"ew=="}, which carries its own scale: nothing is
// missing. README: "Any integer column holds no fraction: a Connect
// Decimal, VariableScaleDecimal or double there must be a whole number in
// range (12.00 reads 12 ...) ... whether the value came as JSON, Avro or
// MongoDB". With a schema (JSON or Avro) such a column declared bigint
// reads 123; without one the kInt codec (value.go) takes only a number
// token, and every record is a dead letter ("expected an integer, found
// an object"), e.g. for a table keyed by a plain numeric id.
func TestR34dSchemalessVariableScaleDecimalInIntegerColumn(t *testing.T) {
	vsd := `{"type":"record","name":"VariableScaleDecimal","namespace":"io.debezium.data","fields":[{"name":"scale","type":"int"},{"name":"value","type":"bytes"}],"connect.version":1,"connect.name":"io.debezium.data.VariableScaleDecimal"}`
	vsdSchema := `{"type":"struct","name":"io.debezium.data.VariableScaleDecimal","version":1,"fields":[{"type":"int32","field":"scale"},{"type":"bytes","field":"value"}]}`
	for _, tc := range []struct {
		name string
		c    R34dColumn
		want string
	}{
		{"bigint, scale 0", R34dColumn{decl: "bigint", schema: vsdSchema, json: `{"scale":0,"value":"ew=="}`,
			avroType: vsd, avroVal: map[string]any{"scale": 0, "value": []byte{0x7b}}}, "int64 123"},
		{"integer, 12.00", R34dColumn{decl: "integer", schema: vsdSchema, json: `{"scale":2,"value":"BLA="}`,
			avroType: vsd, avroVal: map[string]any{"scale": 2, "value": []byte{0x04, 0xb0}}}, "int64 12"},
		{"bigint[]", R34dColumn{decl: "bigint[]",
			schema:   `{"type":"array","items":` + strings.TrimSuffix(vsdSchema, "}") + `,"optional":true}}`,
			json:     `[{"scale":0,"value":"ew=="}]`,
			avroType: `{"type":"array","items":["null",` + vsd + `]}`,
			avroVal:  []any{map[string]any{"io.debezium.data.VariableScaleDecimal": map[string]any{"scale": 0, "value": []byte{0x7b}}}}}, "[]interface {} [123]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := R34dDecodeV(t, tc.c)
			for _, f := range R34dFormOrder {
				if out[f] != tc.want {
					t.Errorf("a VariableScaleDecimal in a column declared %s must read %s in every form:%s", tc.c.decl, tc.want, R34dShow(out))
					return
				}
			}
		})
	}
}

// TestR34dPlainNumericDoubleSameInEveryForm: with
// decimal.handling.mode=double a numeric column is a Connect float64.
// Declared plain numeric, its value keeps "the scale [it] came with"
// (README), but the same double reads with a scale that depends on the
// converter: JsonConverter (Jackson) writes 12.0 as "12.0", read as the
// decimal 12.0, while Avro's double is formatted back with
// strconv.FormatFloat(v, 'g', -1, 64) (convertLeaf, avroread.go) and
// reads 12. Likewise 1.0E-7 reads 0.00000010 from JSON and 0.0000001 from
// Avro. The row's state, documents and stores differ by converter.
func TestR34dPlainNumericDoubleSameInEveryForm(t *testing.T) {
	for _, v := range []struct {
		json string
		f    float64
	}{{"12.0", 12}, {"1.0E-7", 1e-7}} {
		out := R34dDecodeV(t, R34dColumn{decl: "numeric", schema: `{"type":"float64","optional":true}`, json: v.json,
			avroType: `["null","double"]`, avroVal: map[string]any{"double": v.f}})
		first := out[R34dFormOrder[0]]
		for _, f := range R34dFormOrder[1:] {
			if out[f] != first {
				t.Errorf("the double %s in a column declared numeric reads differently by form:%s", v.json, R34dShow(out))
				break
			}
		}
	}
}
