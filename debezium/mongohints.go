package debezium

import (
	"math"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// mongoHints applies the declared column types to a MongoDB document's
// top-level fields, the way the codecs apply them to JSON: a MongoDB
// document carries no schema, so `columns:` is what says that price is
// numeric(10,2) (10.5 reads 10.50, as it would from PostgreSQL) and that
// n is a bigint. A value that cannot be one is malformed here, where it
// goes to the dead-letter topic, rather than refused by a store on every
// retry later. Types a store takes whatever the value (text, json, …) are
// left as they are.
func (d *Decoder) mongoHints(ch *Change) error {
	if len(d.hints) == 0 || ch.Kind != KindChange {
		return nil
	}
	if err := d.hintRow("after", ch.After); err != nil {
		return err
	}
	if err := d.hintRow("before", ch.Before); err != nil {
		if ch.Op == OpDelete {
			return err // its key may come from it
		}
		// An update's pre-image is neither stored nor projected: a value
		// the declared type refuses there (the one the update fixed) is
		// no reason to lose the update.
		ch.Before = nil
	}
	if ch.Patch != nil {
		return d.hintPatch(ch.Patch.Set)
	}
	return nil
}

// mongoKeyHints applies the declared types to a MongoDB record's key, once
// it is read: the state finds the row by its text, which must be the text
// the row's own _id reads as (a uuid in lower case).
func (d *Decoder) mongoKeyHints(ch *Change) error {
	if len(d.hints) == 0 || ch.Kind != KindChange {
		return nil
	}
	return d.hintRow("key", ch.Key)
}

func (d *Decoder) hintRow(where string, row map[string]any) error {
	for name, v := range row {
		c := d.hints[name]
		if c == nil || v == nil || isPlaceholderValue(v) {
			continue
		}
		got, err := hinted(c, v)
		if err != nil {
			p := path{name: where}
			fp := p.field(name)
			return under(err, &fp)
		}
		row[name] = got
	}
	return nil
}

// hintPatch applies the declared types to a patch's sets, by their dotted
// paths: prices.1 sets an element of a numeric(10,2)[], which must be held
// as the whole array's elements are, or the store gets 10.555 (or refuses
// 40000 in a smallint[] on every retry).
func (d *Decoder) hintPatch(set map[string]any) error {
	for at, v := range set {
		c, err := d.patchCodec(at)
		if err == nil && c != nil && v != nil && !isPlaceholderValue(v) {
			v, err = hinted(c, v)
		}
		if err != nil {
			p := path{name: "patch"}
			fp := p.field(at)
			return under(err, &fp)
		}
		set[at] = v
	}
	return nil
}

// patchCodec is the declared type of what a patch sets at the dotted path
// at, nil where nothing is checked: a column not declared, or of a type
// that takes any value (text, jsonb, …). Each index into a declared array
// steps to its elements' type (m.0 of a numeric[][] is a numeric[], m.0.1 a
// numeric). A field name into an array is not checked: MongoDB refuses
// such a set, and projector's jsonb_patch skips it as stale. A field name
// into any other declared value makes it a document, which is held to the
// type as a whole document's would be: n.x is malformed if n is a bigint.
func (d *Decoder) patchCodec(at string) (*codec, error) {
	name, rest, deeper := strings.Cut(at, ".")
	c := d.hints[name]
	for deeper && c != nil {
		var seg string
		seg, rest, deeper = strings.Cut(rest, ".")
		if c.kind != kArray {
			_, err := hinted(c, map[string]any{})
			return nil, err
		}
		if !isArrayIndex(seg) {
			return nil, nil
		}
		c = c.elem
	}
	return c, nil
}

// hinted converts v, as Extended JSON gives it, to what codec c gives. A
// value c itself gave is held again, unchanged: after
// ExtractNewDocumentState a document's fields are read by the column
// codecs first, and this pass only holds what a schema's own codec kept
// (a Connect Timestamp in a column declared date, a string in a bigint).
func hinted(c *codec, v any) (any, error) {
	if c.bad != "" {
		return nil, bad("%s", c.bad)
	}
	switch c.kind {
	case kInt:
		if s, ok := v.(string); ok {
			return declaredIntText(c, s)
		}
		n, ok := hintedInt(v)
		if !ok {
			return nil, bad("expected an integer, found %s", typeName(v))
		}
		return c.fitInt(n)
	case kFloat:
		switch v := v.(type) {
		case float64:
			return c.fitFloat(v)
		case int64:
			return c.fitFloat(float64(v))
		case decimal.Decimal:
			f := v.InexactFloat64()
			if math.IsInf(f, 0) {
				return nil, bad("number %s is out of range for double precision", brief(v.String()))
			}
			return c.fitFloat(f)
		case string:
			return nonFinite([]byte(v))
		}
		return nil, bad("expected a number, found %s", typeName(v))
	case kBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
		return nil, bad("expected a boolean, found %s", typeName(v))
	case kDecimal, kVarDecimal:
		var d decimal.Decimal
		var ok bool
		switch v := v.(type) {
		case decimal.Decimal:
			d, ok = v, true
		case int64:
			d, ok = decimal.NewFromInt(v), true
		case float64:
			if math.IsNaN(v) || math.IsInf(v, 0) {
				break
			}
			d, ok = decimalLiteral([]byte(doubleText(v)))
		case string:
			if s, nf := nonFiniteDecimal([]byte(v)); nf {
				return declaredNonFinite(c, s)
			}
			d, ok = decimalLiteral([]byte(v))
		}
		if !ok {
			return nil, bad("expected a decimal, found %s", typeName(v))
		}
		return declaredDecimal(c, d)
	case kDate, kTime, kTimestamp, kZonedTimestamp, kZonedTime:
		switch v := v.(type) {
		case time.Time:
			return hintedTime(c, v)
		case string:
			return temporalFromString(c, v)
		case Date:
			if c.kind == kDate {
				return v, nil
			}
		case TimeOfDay:
			if c.kind == kTime {
				return roundTimeOfDay(v, c.step), nil
			}
		}
		return nil, bad("expected a date or time, found %s", typeName(v))
	case kUUID:
		// A string, or a $binary of subtype 3 or 4 (read as one):
		// canonical, as the other connectors' uuids, so that a join of
		// it to a PostgreSQL uuid matches.
		if s, ok := v.(string); ok {
			return canonicalUUID([]byte(s))
		}
		return nil, bad("expected a uuid, found %s", typeName(v))
	case kArray:
		// Each element as its declared type, as the other connectors'
		// arrays are read (numeric(10,2)[] keeps two decimals, a
		// smallint[] refuses 40000).
		a, ok := v.([]any)
		if !ok || c.elem == nil {
			return v, nil
		}
		out := make([]any, len(a))
		for i, e := range a {
			if e == nil {
				continue
			}
			got, err := hinted(c.elem, e)
			if err != nil {
				return nil, prefixErr(err, indexSeg(i))
			}
			out[i] = got
		}
		return out, nil
	}
	return v, nil
}

// hintedInt reads an Extended JSON number as an integer: an int32 or
// $numberLong, or a double or $numberDecimal holding a whole number.
func hintedInt(v any) (int64, bool) {
	switch v := v.(type) {
	case int64:
		return v, true
	case float64:
		if v == math.Trunc(v) && v >= math.MinInt64 && v < math.MaxInt64 {
			return int64(v), true
		}
	case decimal.Decimal:
		// NumDigits counts the coefficient's digits: 1E+19 has one. The
		// exponent applied, the value must fit (a Decimal128's exponent
		// is at most 6144, so the integer stays small to build).
		if v.IsInteger() {
			if n := v.BigInt(); n.IsInt64() {
				return n.Int64(), true
			}
		}
	}
	return 0, false
}

// hintedTime reads a $date, an instant, as the declared column: a date or
// time of day as the instant gives it in UTC, the zone of every MongoDB
// date, as PostgreSQL casts a timestamptz in a UTC session.
func hintedTime(c *codec, t time.Time) (any, error) {
	t = t.UTC()
	if !inYears(t) {
		return nil, bad("date %s is %s", t.Format(time.RFC3339Nano), unsupportedYears)
	}
	switch c.kind {
	case kDate:
		return Date{Year: t.Year(), Month: t.Month(), Day: t.Day()}, nil
	case kTime:
		return roundTimeOfDay(clockOf(t), c.step), nil
	case kZonedTime:
		return roundTimeOfDay(clockOf(t), c.step).String() + "Z", nil
	}
	if t = roundTimestamp(t, c.step); !inYears(t) {
		return nil, bad("date %s is %s", t.Format(time.RFC3339Nano), unsupportedYears)
	}
	return t, nil
}

// isArrayIndex tells a path segment that indexes an array: one to nine
// digits, as projector's jsonb_patch and MongoDB's diffs read one.
func isArrayIndex(seg string) bool {
	return seg != "" && len(seg) <= 9 && strings.Trim(seg, "0123456789") == ""
}
