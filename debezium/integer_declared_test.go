package debezium

import (
	"errors"
	"math"
	"math/big"
	"testing"
)

// README ("Values PostgreSQL would refuse are dead letters"): a column
// declared smallint, integer or bigint holds an integer of its width. A
// decimal or a double in such a column (a numeric source column read as a
// Connect Decimal, a VariableScaleDecimal or, in decimal.handling.mode
// double, a double) is held to it as an integer literal is without a
// schema: an integral value (12.00, 3.0) is that integer, any other (12.50,
// 3.7) is malformed, as is one beyond the column's range. PostgreSQL's
// jsonb_to_recordset, which writes the views, refuses "3.7" as an integer,
// so no store may round it.

// integerColumnCase is one value of a schema'd field in a column declared
// as an integer type; want is the integer read, or nil for ErrMalformed.
type integerColumnCase struct {
	name, declared, schema, value string
	want                          any
}

const (
	connectDecimal2 = `{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"}}`
	connectDecimal0 = `{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"0"}}`
	varScaleDecimal = `{"type":"struct","name":"io.debezium.data.VariableScaleDecimal","fields":[{"type":"int32","field":"scale"},{"type":"bytes","field":"value"}]}`
)

func TestDecimalAndDoubleInDeclaredIntegerColumnJSON(t *testing.T) {
	cases := []integerColumnCase{
		{"Decimal 12.50 in int4", "int4", connectDecimal2, `"BOI="`, nil},
		{"Decimal 12.00 in int4", "int4", connectDecimal2, `"BLA="`, int64(12)},
		{"Decimal -12.50 in bigint", "bigint", connectDecimal2, `"+x4="`, nil},
		{"Decimal -2.00 in smallint", "smallint", connectDecimal2, `"/zg="`, int64(-2)},
		{"Decimal 40000.00 in smallint", "smallint", connectDecimal2, `"PQkA"`, nil},
		{"Decimal 40000.00 in int4", "int4", connectDecimal2, `"PQkA"`, int64(40000)},
		{"Decimal 1e20 in int8", "int8", connectDecimal0, `"BWvHXi1jEAAA"`, nil},
		{"Decimal NaN in int4", "int4", connectDecimal2, `"NaN"`, nil},
		{"VariableScaleDecimal 12.50 in int4", "int4", varScaleDecimal, `{"scale":2,"value":"BOI="}`, nil},
		{"VariableScaleDecimal 12.00 in int2", "int2", varScaleDecimal, `{"scale":2,"value":"BLA="}`, int64(12)},
		{"double 3.7 in int4", "int4", `{"type":"double"}`, `3.7`, nil},
		{"double 3.0 in int4", "int4", `{"type":"double"}`, `3.0`, int64(3)},
		{"double 3.0 in int8", "int8", `{"type":"double"}`, `3.0`, int64(3)},
		{"double 40000.0 in smallint", "smallint", `{"type":"double"}`, `40000.0`, nil},
		{"double 1e20 in int8", "int8", `{"type":"double"}`, `1e20`, nil},
		{"double NaN in integer", "integer", `{"type":"double"}`, `"NaN"`, nil},
		{"float 3.5 in int4", "int4", `{"type":"float"}`, `3.5`, nil},
		{"float 7 in int4", "int4", `{"type":"float"}`, `7`, int64(7)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := mustDecoder(t, Options{Columns: map[string]string{"n": tc.declared}})
			ch, err := d.Decode(nil, pgRecord(map[string]string{"n": tc.schema}, []string{"n"}, `{"n":`+tc.value+`}`))
			checkIntegerColumn(t, tc, ch, err)
		})
	}
}

func TestDecimalArrayInDeclaredIntegerArrayColumnJSON(t *testing.T) {
	d := mustDecoder(t, Options{Columns: map[string]string{"n": "int4[]"}})
	fields := map[string]string{"n": `{"type":"array","items":` + connectDecimal2 + `}`}
	ch, err := d.Decode(nil, pgRecord(fields, []string{"n"}, `{"n":["BLA="]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := ch.After["n"].([]any); !ok || len(got) != 1 || got[0] != int64(12) {
		t.Errorf("Decimal [12.00] in a column declared int4[] = %#v, want [12]", ch.After["n"])
	}
	ch, err = d.Decode(nil, pgRecord(fields, []string{"n"}, `{"n":["BOI="]}`))
	if !errors.Is(err, ErrMalformed) {
		t.Errorf("Decimal [12.50] in a column declared int4[]: read %#v (err %v), want ErrMalformed", ch.After["n"], err)
	}
}

// avroIntegerColumnTypes are the Avro schemas of a numeric source column:
// AvroConverter's Decimal and VariableScaleDecimal, and its double and
// float (decimal.handling.mode=double, a float source column).
var avroIntegerColumnTypes = map[string]string{
	"decimal2": `{"type":"bytes","scale":2,"precision":8,"logicalType":"decimal",
	  "connect.name":"org.apache.kafka.connect.data.Decimal","connect.parameters":{"scale":"2","connect.decimal.precision":"8"}}`,
	"decimal0": `{"type":"bytes","scale":0,"precision":30,"logicalType":"decimal",
	  "connect.name":"org.apache.kafka.connect.data.Decimal","connect.parameters":{"scale":"0","connect.decimal.precision":"30"}}`,
	"io.debezium.data.VariableScaleDecimal": `{"type":"record","name":"VariableScaleDecimal","namespace":"io.debezium.data",
	  "connect.name":"io.debezium.data.VariableScaleDecimal","fields":[{"name":"scale","type":"int"},{"name":"value","type":"bytes"}]}`,
	"double": `"double"`,
	"float":  `"float"`,
}

func avroIntegerColumnSchema(typ string) string {
	return `{"type":"record","name":"Value","namespace":"srv.public.acct","connect.name":"srv.public.acct.Value","fields":[
	  {"name":"id","type":"long"},
	  {"name":"n","type":["null",` + avroIntegerColumnTypes[typ] + `],"default":null},
	  {"name":"__op","type":["null","string"],"default":null},
	  {"name":"__lsn","type":["null","long"],"default":null}]}`
}

func TestDecimalAndDoubleInDeclaredIntegerColumnAvro(t *testing.T) {
	vsd := func(scale int, unscaled []byte) any {
		return map[string]any{"io.debezium.data.VariableScaleDecimal": map[string]any{"scale": scale, "value": unscaled}}
	}
	big20, _ := new(big.Rat).SetString("100000000000000000000")
	cases := []struct {
		name, declared, typ string
		value               any
		want                any
	}{
		{"Decimal 12.50 in int4", "int4", "decimal2", map[string]any{"bytes.decimal": big.NewRat(1250, 100)}, nil},
		{"Decimal 12.00 in int4", "int4", "decimal2", map[string]any{"bytes.decimal": big.NewRat(1200, 100)}, int64(12)},
		{"Decimal -12.50 in bigint", "bigint", "decimal2", map[string]any{"bytes.decimal": big.NewRat(-1250, 100)}, nil},
		{"Decimal 40000.00 in smallint", "smallint", "decimal2", map[string]any{"bytes.decimal": big.NewRat(40000, 1)}, nil},
		{"Decimal 40000.00 in int4", "int4", "decimal2", map[string]any{"bytes.decimal": big.NewRat(40000, 1)}, int64(40000)},
		{"Decimal 1e20 in int8", "int8", "decimal0", map[string]any{"bytes.decimal": big20}, nil},
		{"VariableScaleDecimal 12.50 in int4", "int4", "io.debezium.data.VariableScaleDecimal", vsd(2, []byte{0x04, 0xe2}), nil},
		{"VariableScaleDecimal 12.00 in int2", "int2", "io.debezium.data.VariableScaleDecimal", vsd(2, []byte{0x04, 0xb0}), int64(12)},
		{"double 3.7 in int4", "int4", "double", map[string]any{"double": 3.7}, nil},
		{"double 3.0 in int4", "int4", "double", map[string]any{"double": 3.0}, int64(3)},
		{"double 3.0 in int8", "int8", "double", map[string]any{"double": 3.0}, int64(3)},
		{"double 40000 in smallint", "smallint", "double", map[string]any{"double": 40000.0}, nil},
		{"double 1e20 in int8", "int8", "double", map[string]any{"double": 1e20}, nil},
		{"double NaN in int4", "int4", "double", map[string]any{"double": math.NaN()}, nil},
		{"float 3.7 in int4", "int4", "float", map[string]any{"float": float32(3.7)}, nil},
		{"float 7 in smallint", "smallint", "float", map[string]any{"float": float32(7)}, int64(7)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			schema := avroIntegerColumnSchema(tc.typ)
			d := mustDecoder(t, Options{Columns: map[string]string{"n": tc.declared}})
			if err := d.AddAvroSchema(1, schema); err != nil {
				t.Fatal(err)
			}
			ch, err := d.Decode(nil, frame(1, avroEncode(t, schema, map[string]any{"id": int64(1), "n": tc.value,
				"__op": map[string]any{"string": "c"}, "__lsn": map[string]any{"long": int64(10)}})))
			checkIntegerColumn(t, integerColumnCase{name: tc.name, want: tc.want}, ch, err)
		})
	}
}

func checkIntegerColumn(t *testing.T, tc integerColumnCase, ch Change, err error) {
	t.Helper()
	if tc.want == nil {
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: read %#v (err %v), want ErrMalformed", tc.name, Exact(ch.After["n"]), err)
		}
		return
	}
	if err != nil {
		t.Fatalf("%s: %v", tc.name, err)
	}
	if got := ch.After["n"]; got != tc.want {
		t.Errorf("%s = %#v, want %#v", tc.name, Exact(got), tc.want)
	}
}
