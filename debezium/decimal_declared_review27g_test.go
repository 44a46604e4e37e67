package debezium

import (
	"errors"
	"math/big"
	"testing"
)

// README ("What it decodes"): "a column declared numeric(p,s) always has s
// decimals, however the value came", and "Values PostgreSQL would refuse
// are dead letters ... A column declared numeric(p,s) gets s decimals
// (rounded half away from zero, as PostgreSQL does) and may then have at
// most p digits: 123456.78 in numeric(5,2) is malformed."
//
// That holds for schemaless JSON, decimal.handling.mode string/double and
// (since review 12a) VariableScaleDecimal, but not for Kafka Connect's
// fixed-scale org.apache.kafka.connect.data.Decimal, the form of every
// numeric(p,s) source column in the default precise mode: its value keeps
// the schema's scale and is never held to the declared precision, so the
// view's PostgreSQL column rounds it (or refuses the document) while Redis
// and Elasticsearch store other digits.

func r27gDecimalSchema(scale string) string {
	return `{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"` + scale + `"}}`
}

// TestR27gConnectDecimalHeldToDeclaredNumericJSON: JsonConverter with
// schemas.
func TestR27gConnectDecimalHeldToDeclaredNumericJSON(t *testing.T) {
	d := mustDecoder(t, Options{Columns: map[string]string{"price": "numeric(5,2)", "rate": "numeric(10,2)"}})
	fields := map[string]string{"price": r27gDecimalSchema("2"), "rate": r27gDecimalSchema("3")}
	order := []string{"price", "rate"}

	// rate: unscaled 1235 (0x04d3) at scale 3 = 1.235, in numeric(10,2) 1.24.
	ch, err := d.Decode(nil, pgRecord(fields, order, `{"price":"MDk=","rate":"BNM="}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := Exact(ch.After["rate"]); got != "1.24" {
		t.Errorf("Decimal 1.235 in a column declared numeric(10,2) = %#v, want \"1.24\"", got)
	}

	// price: unscaled 12345678 (0x00bc614e) at scale 2 = 123456.78.
	ch, err = d.Decode(nil, pgRecord(fields, order, `{"price":"ALxhTg==","rate":"BNM="}`))
	if !errors.Is(err, ErrMalformed) {
		t.Errorf("Decimal 123456.78 in a column declared numeric(5,2): read %v (err %v), want ErrMalformed", Exact(ch.After["price"]), err)
	}
}

// TestR27gConnectDecimalHeldToDeclaredNumericAvro: AvroConverter, whose
// Decimal is Avro's bytes with logicalType decimal.
func TestR27gConnectDecimalHeldToDeclaredNumericAvro(t *testing.T) {
	const schema = `{"type":"record","name":"Value","namespace":"srv.public.acct",
	 "connect.name":"srv.public.acct.Value","fields":[
	  {"name":"id","type":"long"},
	  {"name":"price","type":["null",{"type":"bytes","scale":2,"precision":8,"logicalType":"decimal",
	    "connect.name":"org.apache.kafka.connect.data.Decimal","connect.parameters":{"scale":"2","connect.decimal.precision":"8"}}],"default":null},
	  {"name":"rate","type":["null",{"type":"bytes","scale":3,"precision":10,"logicalType":"decimal",
	    "connect.name":"org.apache.kafka.connect.data.Decimal","connect.parameters":{"scale":"3","connect.decimal.precision":"10"}}],"default":null},
	  {"name":"__op","type":["null","string"],"default":null},
	  {"name":"__lsn","type":["null","long"],"default":null}]}`
	d := mustDecoder(t, Options{Columns: map[string]string{"price": "numeric(5,2)", "rate": "numeric(10,2)"}})
	if err := d.AddAvroSchema(1, schema); err != nil {
		t.Fatal(err)
	}
	row := func(price, rate *big.Rat) []byte {
		return frame(1, avroEncode(t, schema, map[string]any{"id": int64(1),
			"price": map[string]any{"bytes.decimal": price},
			"rate":  map[string]any{"bytes.decimal": rate},
			"__op":  map[string]any{"string": "c"}, "__lsn": map[string]any{"long": int64(10)}}))
	}
	ch, err := d.Decode(nil, row(big.NewRat(12345, 100), big.NewRat(1235, 1000)))
	if err != nil {
		t.Fatal(err)
	}
	if got := Exact(ch.After["rate"]); got != "1.24" {
		t.Errorf("Avro decimal 1.235 in a column declared numeric(10,2) = %#v, want \"1.24\"", got)
	}
	ch, err = d.Decode(nil, row(big.NewRat(12345678, 100), big.NewRat(1235, 1000)))
	if !errors.Is(err, ErrMalformed) {
		t.Errorf("Avro decimal 123456.78 in a column declared numeric(5,2): read %v (err %v), want ErrMalformed", Exact(ch.After["price"]), err)
	}
}
