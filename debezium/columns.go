package debezium

import (
	"cmp"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// columnCodec turns a declared SQL column type into the codec that reads the
// column's schemaless JSON. It returns nil for a type whose natural JSON is
// already right (user-defined enums, inet, ...): unknown type names are
// accepted, only a type that cannot be parsed is an error. A text column's
// codec reads natural JSON too, but takes the place of a schema's logical
// string (see keepsText).
// unit is nanoseconds per unit of an integer timestamp or time, 0 for the
// unit Debezium's adaptive mode gives the type (see Options.TimestampUnit).
func columnCodec(typ string, unit int64) (*codec, error) {
	base, args, dims, err := parseSQLType(typ)
	if err != nil {
		return nil, err
	}
	c, err := baseCodec(base, args, unit)
	if err != nil || c == nil || c.kind == kText && dims > 0 {
		return nil, err // a text[] is read as its schema says, or as natural JSON
	}
	for range dims {
		c = &codec{kind: kArray, elem: c}
	}
	return c, nil
}

func baseCodec(base string, args []int, unit int64) (*codec, error) {
	switch base {
	case "numeric", "decimal":
		c := &codec{kind: kDecimal, text: true}
		switch len(args) {
		case 0:
		case 1:
			c.precision, c.scaleKnown = int32(args[0]), true
		case 2:
			if args[1] > args[0] {
				return nil, fmt.Errorf("%s scale %d exceeds precision %d", base, args[1], args[0])
			}
			c.precision, c.scale, c.scaleKnown = int32(args[0]), int32(args[1]), true
		default:
			return nil, fmt.Errorf("%s takes at most precision and scale", base)
		}
		return c, nil
	case "money":
		return &codec{kind: kDecimal, text: true, scale: 2, scaleKnown: true}, nil
	case "smallint", "int2", "smallserial", "serial2":
		return &codec{kind: kInt, bits: 16, text: true}, nil
	case "integer", "int", "int4", "serial", "serial4":
		return &codec{kind: kInt, bits: 32, text: true}, nil
	case "bigint", "int8", "bigserial", "serial8", "oid":
		return &codec{kind: kInt, text: true}, nil
	case "real", "float4":
		return &codec{kind: kFloat, bits: 32}, nil
	case "double precision", "float8", "float":
		return &codec{kind: kFloat}, nil
	case "boolean", "bool":
		return &codec{kind: kBool}, nil
	case "date":
		return &codec{kind: kDate}, nil
	case "timestamp", "timestamp without time zone":
		return &codec{kind: kTimestamp, unit: adaptiveUnit(unit, args), step: precisionStep(args)}, nil
	case "timestamptz", "timestamp with time zone":
		return &codec{kind: kZonedTimestamp, unit: cmp.Or(unit, int64(time.Millisecond)), step: precisionStep(args)}, nil
	case "time", "time without time zone":
		return &codec{kind: kTime, unit: adaptiveUnit(unit, args), step: precisionStep(args)}, nil
	case "timetz", "time with time zone":
		return &codec{kind: kZonedTime, step: precisionStep(args)}, nil
	case "interval":
		return &codec{kind: kInterval}, nil
	case "json", "jsonb":
		return &codec{kind: kJSON}, nil
	case "text", "varchar", "character varying", "char", "character", "bpchar", "citext":
		return &codec{kind: kText}, nil
	case "uuid":
		return &codec{kind: kUUID}, nil
	case "bytea":
		return &codec{kind: kBytes}, nil
	case "point", "geometry", "geography":
		return &codec{kind: kStruct, fields: []field{
			{name: "x", c: &codec{kind: kFloat}},
			{name: "y", c: &codec{kind: kFloat}},
			{name: "wkb", c: &codec{kind: kBytes}},
			{name: "srid", c: &codec{kind: kInt}},
		}}, nil
	}
	return nil, nil
}

// adaptiveUnit is unit, or when it is 0 the unit of time.precision.mode
// adaptive for a timestamp or time of the declared precision: Timestamp
// and Time in milliseconds up to 3 digits, MicroTimestamp and MicroTime in
// microseconds beyond, and for PostgreSQL's default precision, 6.
func adaptiveUnit(unit int64, args []int) int64 {
	switch {
	case unit != 0:
		return unit
	case len(args) == 1 && args[0] <= 3:
		return int64(time.Millisecond)
	}
	return int64(time.Microsecond)
}

// precisionStep is the step of a time or timestamp declared with p
// fractional digits (time(p), timestamp(p)), 0 for PostgreSQL's default of
// 6; see codec.step.
func precisionStep(args []int) int64 {
	if len(args) != 1 || args[0] >= 6 {
		return 0
	}
	return fractionStep(args[0])
}

// declaredPrecision is fc, the codec of a schema's decimal held to the
// numeric(p,s) or the integer type h declares, or of a schema's time or
// timestamp (Debezium's MicroTimestamp, ZonedTimestamp, MicroTime...,
// Avro's timestamp-micros...), with the fractional digits of h, a column
// declared time(p), timestamp(p), timestamptz(p) or timetz(p), arrays of
// them included: a logical type says the unit of the value, not how many
// digits its column keeps, and PostgreSQL rounds the value to them. It is
// nil when h declares no such precision or fc is no time of the same sort.
func declaredPrecision(h, fc *codec) *codec {
	if h == nil || fc == nil {
		return nil
	}
	if h.kind == kArray && fc.kind == kArray {
		e := declaredPrecision(h.elem, fc.elem)
		if e == nil {
			return nil
		}
		c := *fc
		c.elem = e
		return &c
	}
	if fc.kind == kVarDecimal && h.kind == kDecimal && h.text && h.scaleKnown {
		// A numeric column without a typmod in the source, declared
		// numeric(p,s) here: the value keeps the declared scale and is
		// held to its digits, as the view's column will.
		c := *fc
		c.text, c.scale, c.scaleKnown, c.precision = true, h.scale, true, h.precision
		return &c
	}
	if (fc.kind == kDecimal || fc.kind == kVarDecimal) && h.kind == kInt && fc.to == nil {
		// A decimal in a column declared smallint, integer or bigint: it
		// must be an integer of that width (see declaredInt).
		c := *fc
		c.to = h
		return &c
	}
	if fc.kind == kDecimal && !fc.text && h.kind == kDecimal && h.text && h.scaleKnown && fc.to == nil {
		// A Connect Decimal: its bytes are read at the schema's scale,
		// then held to the declared one (1.235 in numeric(10,2) is 1.24),
		// and to its digits, as the view's column holds it.
		c := *fc
		c.to = h
		return &c
	}
	clock := func(k kind) bool { return k == kTime || k == kZonedTime }
	stamp := func(k kind) bool { return k == kTimestamp || k == kZonedTimestamp }
	if h.step == 0 || h.step == fc.step || !(clock(h.kind) && clock(fc.kind) || stamp(h.kind) && stamp(fc.kind)) {
		return nil
	}
	c := *fc
	c.step = h.step
	return &c
}

var errEmptyType = errors.New("empty column type")

// parseSQLType splits "numeric(10, 2)[]" into ("numeric", [10 2], 1).
func parseSQLType(typ string) (base string, args []int, dims int, err error) {
	t := strings.ToLower(strings.TrimSpace(typ))
	for strings.HasSuffix(t, "]") {
		open := strings.LastIndexByte(t, '[')
		if open < 0 {
			return "", nil, 0, fmt.Errorf("type %q: unbalanced '['", typ)
		}
		if n := strings.TrimSpace(t[open+1 : len(t)-1]); n != "" {
			if _, err := strconv.Atoi(n); err != nil {
				return "", nil, 0, fmt.Errorf("type %q: array bound %q is not an integer", typ, n)
			}
		}
		t = strings.TrimSpace(t[:open])
		dims++
	}
	if strings.HasSuffix(t, "array") { // "integer array" is SQL for integer[]
		t = strings.TrimSpace(strings.TrimSuffix(t, "array"))
		dims++
	}
	if open := strings.IndexByte(t, '('); open >= 0 {
		end := strings.IndexByte(t, ')')
		if end < open {
			return "", nil, 0, fmt.Errorf("type %q: unbalanced '('", typ)
		}
		for _, a := range strings.Split(t[open+1:end], ",") {
			a = strings.TrimSpace(a)
			n, err := strconv.Atoi(a)
			if err != nil || n < 0 {
				return "", nil, 0, fmt.Errorf("type %q: argument %q is not a non-negative integer", typ, a)
			}
			args = append(args, n)
		}
		t = t[:open] + " " + t[end+1:]
	}
	if strings.ContainsAny(t, "()[]") {
		return "", nil, 0, fmt.Errorf("type %q: unbalanced brackets", typ)
	}
	base = strings.Join(strings.Fields(t), " ")
	if base == "" {
		return "", nil, 0, fmt.Errorf("type %q: %w", typ, errEmptyType)
	}
	return base, args, dims, nil
}

// keepsText reports whether h, a column declared text, takes the place of
// fc, the codec a schema gives a string field (a Json, a ZonedTime, a
// Uuid): the column holds Debezium's text as written, as it reads without
// a schema, not the document or the normalised time the logical type
// would make of it, so the same row reads the same whatever the converter.
func keepsText(h, fc *codec, stringField bool) bool {
	return h.kind == kText && stringField && fc != nil && fc.kind != kString
}
