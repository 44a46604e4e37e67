package projections

import (
	"reflect"
	"strconv"
	"unicode/utf8"
)

// toJSON() and string() of an array or an object write text that grows
// with every item, and an item may be the same megabyte many times over:
// like the builtins of exprtext.go, they count it against the evaluation's
// TextBudget before they build it. textSize measures it from the value,
// allocating nothing, and stops as soon as it is past what is left.

// spendOnText takes from the budget of the evaluation whose environment is
// env what toJSON(v) or string(v) would write, before it is written.
func spendOnText(env any, v any) error {
	left := budgetOf(env)
	if left == nil {
		return nil
	}
	n, ok := textSize(v, max(left.bytes, 0))
	if !ok {
		left.bytes = -1
		return ErrTextBudget
	}
	return spend(env, n)
}

// textSize is at least the length of v written by encoding/json with an
// indent of two spaces (expr-lang's toJSON) and by fmt's %v (its string):
// a string escaped as JSON escapes it, which is never shorter than itself,
// each item on a line of its own, indented by its depth. ok is false when
// the size is over limit; the measuring stops there, so it takes at most
// limit steps whatever v repeats.
func textSize(v any, limit int) (n int, ok bool) {
	m := sizer{limit: limit}
	m.add(reflect.ValueOf(v), 0)
	return m.n, m.n <= limit
}

// sizer adds up textSize.
type sizer struct{ n, limit int }

// timeSize bounds a time as %v writes it, with its monotonic clock
// reading ("2006-01-02 15:04:05.999999999 -0700 MST m=+0.000000001"), or
// as JSON does.
const timeSize = 64

// container is what a non-empty array or object adds besides its items:
// "map[" and "]" (%v), or "[\n" and the closing bracket's indentation.
const container = 5

// add adds the size of v, at depth levels of nesting.
func (m *sizer) add(v reflect.Value, depth int) {
	if m.n > m.limit {
		return
	}
	if !v.IsValid() {
		m.n += len("<nil>")
		return
	}
	switch v.Kind() {
	case reflect.String: // a json.Number too, which JSON writes unquoted
		m.n += jsonStringSize(v.String())
	case reflect.Struct:
		if v.Type() == timeType {
			m.n += timeSize
			return
		}
		m.n += container + 2*depth
		for i := 0; i < v.NumField() && m.n <= m.limit; i++ {
			m.n += item(depth) + len(`"": `) + len(v.Type().Field(i).Name)
			m.add(v.Field(i), depth+1)
		}
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			m.n += len("<nil>")
			return
		}
		if v.Kind() == reflect.Pointer {
			m.n++ // %v's &, and a step for a pointer that leads back to itself
		}
		m.add(v.Elem(), depth)
	case reflect.Slice, reflect.Array:
		m.n += container + 2*depth
		for i := 0; i < v.Len() && m.n <= m.limit; i++ {
			m.n += item(depth)
			m.add(v.Index(i), depth+1)
		}
	case reflect.Map:
		m.n += container + 2*depth
		for it := v.MapRange(); it.Next() && m.n <= m.limit; {
			m.n += item(depth) + len(`"": `)
			m.add(it.Key(), depth+1)
			m.add(it.Value(), depth+1)
		}
	default:
		m.n += scalarSize(v)
	}
}

// item is what each item of an array or an object at depth adds besides
// itself: its line's indentation, and ",\n" (or %v's space).
func item(depth int) int { return 2*(depth+1) + 2 }

// scalarSize is the length of a number or a boolean as JSON or %v writes
// it, measured in a buffer on the stack; of anything else, a bound for
// the name or address %v gives it.
func scalarSize(v reflect.Value) int {
	var buf [64]byte
	switch v.Kind() {
	case reflect.Bool:
		return len("false")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return len(strconv.AppendInt(buf[:0], v.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return len(strconv.AppendUint(buf[:0], v.Uint(), 10))
	case reflect.Float32, reflect.Float64:
		// %v writes the shortest form, JSON a plain decimal below 1e21:
		// the longer of the two.
		f := v.Float()
		n := len(strconv.AppendFloat(buf[:0], f, 'g', -1, 64))
		if a := max(f, -f); a >= 1e-6 && a < 1e21 {
			n = max(n, len(strconv.AppendFloat(buf[:0], f, 'f', -1, 64)))
		}
		return n
	}
	return len(buf)
}

// jsonStringSize is the length of s as JSON writes it, quoted: a quote, a
// backslash and a control character escaped, <, > and & (HTML's) and
// U+2028, U+2029 and a byte that is not UTF-8 as \uXXXX.
func jsonStringSize(s string) int {
	n := len(`""`)
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f':
				n += 2
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				n += len(`\u003c`)
			default:
				n++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			n += len(`\ufffd`)
		} else {
			n += size
		}
		i += size
	}
	return n
}
