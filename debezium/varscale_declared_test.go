package debezium

import (
	"errors"
	"testing"
)

// TestVariableScaleDecimalDeclaredJSON: a numeric column without a typmod
// reaches JsonConverter as a VariableScaleDecimal struct; declared
// numeric(5,2), it keeps two decimals and at most five digits, as the
// view's column does (the Avro path: avro_hints_review12a_test.go).
func TestVariableScaleDecimalDeclaredJSON(t *testing.T) {
	d := mustDecoder(t, Options{Columns: map[string]string{"amount": "numeric(5,2)"}})
	rec := func(scale int, value string) []byte {
		return []byte(`{"schema":{"type":"struct","name":"srv.public.acct.Envelope","fields":[` +
			`{"field":"after","type":"struct","optional":true,"fields":[{"field":"id","type":"int64"},` +
			`{"field":"amount","type":"struct","optional":true,"name":"io.debezium.data.VariableScaleDecimal",` +
			`"fields":[{"field":"scale","type":"int32"},{"field":"value","type":"bytes"}]}]},{"field":"op","type":"string"}]},` +
			`"payload":{"op":"c","after":{"id":1,"amount":{"scale":` + string(rune('0'+scale)) + `,"value":"` + value + `"}}}}`)
	}
	ch, err := d.Decode(nil, rec(1, "aQ==")) // 105 at scale 1: 10.5
	if err != nil {
		t.Fatal(err)
	}
	wantJSON(t, Exact(ch.After["amount"]), `"10.50"`)
	_, err = d.Decode(nil, rec(2, "ALxhTg==")) // 12345678 at scale 2: 123456.78
	if !errors.Is(err, ErrMalformed) {
		t.Errorf("123456.78 in numeric(5,2): err %v, want malformed", err)
	}
}
