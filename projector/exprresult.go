package projector

import (
	"math"
	"time"

	"github.com/shopspring/decimal"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/debezium"
)

// exprResult turns an expression's result into the value of a field of
// type t, written as a column of that type is: a date as YYYY-MM-DD, a time
// as HH:MM:SS[.ffffff], a timestamp as RFC 3339 in UTC, a numeric(p,s) as
// its decimal text with s decimals (rounded half away from zero). It
// reports false for a result the type cannot hold, as PostgreSQL would
// refuse it: a float that is not finite, an integer out of the type's
// range, a numeric(p,s) with more than p digits, a date or timestamp
// outside the years 1..9999.
func exprResult(t config.Type, v any) (any, bool) {
	switch r := v.(type) {
	case time.Time:
		return timeResult(t, r)
	case float64:
		if math.IsInf(r, 0) || math.IsNaN(r) {
			return nil, false
		}
		if s, ok := declaredScale(t); ok {
			return numericResult(t, decimal.NewFromFloat(r), s)
		}
	case int:
		return integerResult(t, v, int64(r))
	case int64:
		return integerResult(t, v, r)
	}
	return v, true
}

func integerResult(t config.Type, v any, n int64) (any, bool) {
	if t.Array {
		return v, true
	}
	switch t.Name {
	case "smallint":
		return v, n >= math.MinInt16 && n <= math.MaxInt16
	case "integer":
		return v, n >= math.MinInt32 && n <= math.MaxInt32
	}
	if s, ok := declaredScale(t); ok {
		return numericResult(t, decimal.NewFromInt(n), s)
	}
	return v, true
}

// declaredScale is the scale of a numeric(p,s), or of a numeric(p) (0).
func declaredScale(t config.Type) (int32, bool) {
	if t.Name != "numeric" || t.Array || t.Precision < 0 {
		return 0, false
	}
	return int32(max(t.Scale, 0)), true
}

func numericResult(t config.Type, d decimal.Decimal, scale int32) (any, bool) {
	d = d.Round(scale) // the coefficient now counts the digits kept
	if d.NumDigits() > t.Precision {
		return nil, false // PostgreSQL: numeric field overflow
	}
	return d.StringFixed(scale), true
}

func timeResult(t config.Type, ts time.Time) (any, bool) {
	ts = ts.UTC()
	if t.Array {
		return ts.Format(time.RFC3339Nano), true
	}
	switch t.Name {
	case "time":
		clock := time.Duration(ts.Hour())*time.Hour + time.Duration(ts.Minute())*time.Minute +
			time.Duration(ts.Second())*time.Second + time.Duration(ts.Nanosecond())
		return debezium.TimeOfDay(clock.Round(precisionUnit(t.Precision))).String(), true
	case "date":
		if y := ts.Year(); y < 1 || y > 9999 {
			return nil, false
		}
		return debezium.Date{Year: ts.Year(), Month: ts.Month(), Day: ts.Day()}.String(), true
	case "timestamp", "timestamptz":
		ts = ts.Round(precisionUnit(t.Precision))
		if y := ts.Year(); y < 1 || y > 9999 {
			return nil, false
		}
	}
	return ts.Format(time.RFC3339Nano), true
}

// precisionUnit is the step of a time or timestamp declared with p
// fractional digits; 0 (no rounding) when p is not declared, as a column
// of the type keeps the digits it came with.
func precisionUnit(p int) time.Duration {
	if p < 0 {
		return 0
	}
	u := time.Nanosecond
	for range 9 - min(p, 9) {
		u *= 10
	}
	return u
}
