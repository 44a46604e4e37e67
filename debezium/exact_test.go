package debezium

import (
	"encoding/json"
	"testing"

	"github.com/shopspring/decimal"
)

func TestExact(t *testing.T) {
	in := map[string]any{
		"price": decimal.New(13700, -2),
		"big":   decimal.RequireFromString("585691028598451546227916918584382586.22"),
		"int":   decimal.New(5, 3),
		"items": []any{map[string]any{"unit_price": decimal.New(1050, -2)}, "x"},
		"name":  "hammer",
	}
	b, err := json.Marshal(Exact(in))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"big":"585691028598451546227916918584382586.22","int":"5000","items":[{"unit_price":"10.50"},"x"],"name":"hammer","price":"137.00"}`
	if string(b) != want {
		t.Errorf("Exact:\n got %s\nwant %s", b, want)
	}
	if _, still := in["price"].(decimal.Decimal); !still {
		t.Error("Exact changed its input")
	}
	untouched := map[string]any{"a": "b"}
	if out := Exact(untouched).(map[string]any); &out == nil || len(out) != 1 {
		t.Error("a map without decimals must come back as it is")
	}
}
