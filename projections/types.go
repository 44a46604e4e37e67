package projections

import (
	"encoding/json"
	"math"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/projectorhq/projector/config"
)

// family groups SQL types whose values can be compared by a join.
func family(t config.Type) string {
	if t.Array {
		return "array:" + family(config.Type{Name: t.Name})
	}
	switch t.Name {
	case "smallint", "integer", "bigint":
		return "integer"
	case "numeric", "real", "double precision":
		return "number"
	case "text", "varchar", "uuid":
		return "text" // a MongoDB ObjectId is kept as its hex text
	case "timestamp", "timestamptz":
		return "timestamp"
	}
	return t.Name
}

// comparable says whether a join may pair columns of types a and b. Joins
// compare the values' text (the state's data->>'col'), so numbers join
// only where equal values are written alike: 5 and 5.00 are not
// (sameNumberText).
func comparable(a, b config.Type) bool {
	fa, fb := family(a), family(b)
	switch {
	case fa == "number" || fb == "number":
		return (fa == "number" || fa == "integer") && (fb == "number" || fb == "integer") && sameNumberText(a, b)
	}
	return fa == fb
}

// sameNumberText says whether equal numbers of types a and b have the
// same text: both with the same declared scale (integers and numeric(p)
// have 0), or floats (an integral one is written as an integer) with
// floats or with a scale of 0. A numeric without a declared scale never
// joins: the decoder keeps the scale each value came with, so 2, 2.0 and
// 2.00 would not match; numeric(p,s) fixes it.
func sameNumberText(a, b config.Type) bool {
	if unscaledNumeric(a) || unscaledNumeric(b) {
		return false
	}
	sa, fixedA := numberScale(a)
	sb, fixedB := numberScale(b)
	if fixedA && fixedB {
		return sa == sb
	}
	return (!fixedA || sa == 0) && (!fixedB || sb == 0)
}

// unscaledNumeric says whether t is a numeric without a declared scale:
// its values keep the scale they came with.
func unscaledNumeric(t config.Type) bool {
	_, fixed := numberScale(t)
	return t.Name == "numeric" && !fixed
}

// numberScale is the number of decimals every value of t is written with,
// when t fixes one.
func numberScale(t config.Type) (int, bool) {
	switch t.Name {
	case "smallint", "integer", "bigint":
		return 0, true
	case "numeric":
		switch {
		case t.Scale >= 0:
			return t.Scale, true
		case t.Precision >= 0:
			return 0, true // numeric(p) is numeric(p,0)
		}
	}
	return 0, false
}

func isInteger(t config.Type) bool { return !t.Array && family(t) == "integer" }

// Sample is a value of the Go type an expression sees for a column of type
// t; expressions are type-checked against these.
func Sample(t config.Type) any {
	if t.Array {
		return []any{}
	}
	switch family(t) {
	case "integer":
		return int64(0)
	case "number":
		return float64(0)
	case "boolean", "bool":
		return false
	case "timestamp", "date":
		return time.Time{}
	case "jsonb", "json":
		return map[string]any{}
	case "":
		return nil
	}
	return ""
}

// ExprValue converts a JSON-natural value of a column of type t (as the
// state stores it) to what an expression sees: int64 for integers, a
// decimal.Decimal for a numeric (computed exactly), float64 for other
// numbers, time.Time for timestamps and dates,
// a string for text (whatever the column it was copied from held).
// A number of a column whose type is not declared becomes int64 when it is
// integral and a decimal otherwise: expressions cannot compute with the
// json.Number the state decodes it as.
func ExprValue(t config.Type, v any) any {
	if v == nil {
		return v
	}
	if t.Array {
		// The elements of a number or timestamp array as their scalars
		// are: 1.5 in prices, sum(prices) and deadlines[0] < now()
		// compute with them, not with the state's text. Other arrays
		// (text, uuid, json, date: a date[] copied into text[] or jsonb
		// keeps 2024-01-02) are as the state holds them.
		items, ok := v.([]any)
		switch family(config.Type{Name: t.Name}) {
		case "integer", "number", "timestamp":
		default:
			ok = false
		}
		if !ok {
			return v
		}
		elem := t
		elem.Array = false
		out := make([]any, len(items))
		for i, e := range items {
			out[i] = ExprValue(elem, e)
		}
		return out
	}
	switch family(t) {
	case "", "jsonb", "json":
		return natural(v)
	case "integer":
		switch n := v.(type) {
		case json.Number:
			if i, err := n.Int64(); err == nil {
				return i
			}
			if d, err := decimal.NewFromString(n.String()); err == nil {
				return d.IntPart()
			}
		case string:
			if d, err := decimal.NewFromString(n); err == nil {
				return d.IntPart()
			}
		}
	case "number":
		if t.Name == "numeric" {
			// Exact, as PostgreSQL computes a numeric (see exprdecimal.go).
			if d, ok := numericValue(v); ok {
				return d
			}
		}
		switch n := v.(type) {
		case json.Number:
			f, _ := n.Float64()
			return f
		case string:
			if d, err := decimal.NewFromString(n); err == nil {
				return d.InexactFloat64()
			}
			switch n { // numeric's non-finite values, as the decoder writes them
			case "Infinity":
				return math.Inf(1)
			case "-Infinity":
				return math.Inf(-1)
			case "NaN":
				return math.NaN()
			}
		}
	case "text":
		// A column retyped as text (`{ column: code, type: text }`) is a
		// string to the expressions after it, as the checker typed it.
		switch x := v.(type) {
		case json.Number:
			return x.String()
		case bool:
			return strconv.FormatBool(x)
		}
	case "timestamp", "date":
		if s, ok := v.(string); ok {
			for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"} {
				if ts, err := time.Parse(layout, s); err == nil {
					if t.Name == "date" {
						return time.Date(ts.Year(), ts.Month(), ts.Day(), 0, 0, 0, 0, DateZone)
					}
					return ts
				}
			}
		}
	}
	return v
}

// DateZone is the location of a date's value in expressions: UTC, named
// apart, so that a date an expression passes on whole into text, jsonb or
// a field of no type is written as PostgreSQL writes a date (2024-01-02),
// not as a timestamp. Comparisons and arithmetic ignore locations.
var DateZone = time.FixedZone("date", 0)

// IsDate reports whether ts is a date's value: in DateZone, at midnight (a
// date an hour was added to is a timestamp, as PostgreSQL's date +
// interval is).
func IsDate(ts time.Time) bool {
	return ts.Location() == DateZone && ts.Hour() == 0 && ts.Minute() == 0 && ts.Second() == 0 && ts.Nanosecond() == 0
}

// TimeText is ts as a document writes it where no column type says how: a
// date as YYYY-MM-DD, any other time as RFC 3339 in UTC.
func TimeText(ts time.Time) string {
	if IsDate(ts) {
		return ts.Format(time.DateOnly)
	}
	return ts.UTC().Format(time.RFC3339Nano)
}

// numericValue is a numeric's finite value as the state holds it (a JSON
// number, or its text); NaN and the infinities stay floats (below).
func numericValue(v any) (decimal.Decimal, bool) {
	var s string
	switch n := v.(type) {
	case json.Number:
		s = n.String()
	case string:
		s = n
	default:
		return decimal.Decimal{}, false
	}
	d, err := decimal.NewFromString(s)
	return d, err == nil
}

// natural converts the JSON numbers in v, at any depth, to what an
// expression computes with: int64 when integral, else a decimal.Decimal. Objects and
// arrays holding numbers are copied, not changed.
func natural(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		// Exact, as PostgreSQL's jsonb numbers are numerics.
		if d, err := decimal.NewFromString(x.String()); err == nil {
			return d
		}
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = natural(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = natural(e)
		}
		return out
	}
	return v
}

// FieldValue converts the value of field f, as the builder made it, to
// what an expression sees: ExprValue by f's type, and for a joined object
// or the items of a one-to-many join, each of their fields by its own
// type, at any depth (a numeric as a number, a timestamp as a time), as
// for the row's own columns. Objects and arrays are copied, not changed.
func FieldValue(f *Field, v any) any {
	if v == nil || f.Join == nil || f.Column != "" {
		return ExprValue(f.Type, v)
	}
	if f.Kind != KindMany {
		return joinedValue(f.Join.Fields, v)
	}
	items, ok := v.([]any)
	if !ok {
		return natural(v)
	}
	out := make([]any, len(items))
	for i, it := range items {
		out[i] = joinedValue(f.Join.Fields, it)
	}
	return out
}

// joinedValue converts an object built from fields, field by field.
func joinedValue(fields []*Field, v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return natural(v)
	}
	out := make(map[string]any, len(m))
	for _, f := range fields {
		if e, ok := m[f.Name]; ok {
			out[f.Name] = FieldValue(f, e)
		}
	}
	return out
}
