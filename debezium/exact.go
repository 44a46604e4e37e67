package debezium

import "github.com/shopspring/decimal"

// ExactDecimal renders a decimal with every digit of its scale: numeric(10,2)
// 137.00 stays "137.00" (shopspring's String drops the zeros, and with them
// the scale the source declared).
func ExactDecimal(d decimal.Decimal) string {
	if exp := d.Exponent(); exp < 0 {
		return d.StringFixed(-exp)
	}
	return d.String()
}

// Exact returns v with every decimal.Decimal inside it (at any depth of maps
// and slices) replaced by its ExactDecimal string, ready to encode as JSON.
// It copies only the maps and slices it changes.
func Exact(v any) any {
	out, _ := exact(v)
	return out
}

func exact(v any) (any, bool) {
	switch x := v.(type) {
	case decimal.Decimal:
		return ExactDecimal(x), true
	case map[string]any:
		var out map[string]any
		for k, e := range x {
			n, ok := exact(e)
			if !ok {
				continue
			}
			if out == nil {
				out = make(map[string]any, len(x))
				for k2, e2 := range x {
					out[k2] = e2
				}
			}
			out[k] = n
		}
		if out == nil {
			return x, false
		}
		return out, true
	case []any:
		var out []any
		for i, e := range x {
			n, ok := exact(e)
			if !ok {
				continue
			}
			if out == nil {
				out = append([]any(nil), x...)
			}
			out[i] = n
		}
		if out == nil {
			return x, false
		}
		return out, true
	}
	return v, false
}
