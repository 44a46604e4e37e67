package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Type is a column or field type: one of the PostgreSQL types projector
// knows how to decode, store and compare.
type Type struct {
	Name      string // canonical name: "integer", "numeric", "double precision", "timestamptz", ...
	Precision int    // numeric precision, varchar length or time precision; -1 when not given
	Scale     int    // numeric scale; -1 when not given
	Array     bool   // a one-dimensional array of the type ("text[]")
}

// typeInfo says which parameters a canonical type takes.
type typeInfo struct {
	params     int // how many parameters may follow in parentheses
	minP, maxP int // bounds of the first parameter
}

var typeParams = map[string]typeInfo{
	"smallint":         {},
	"integer":          {},
	"bigint":           {},
	"numeric":          {params: 2, minP: 1, maxP: 1000},
	"real":             {},
	"double precision": {},
	"boolean":          {},
	"text":             {},
	"varchar":          {params: 1, minP: 1, maxP: 10485760},
	"uuid":             {},
	"date":             {},
	"time":             {params: 1, minP: 0, maxP: 6},
	"timestamp":        {params: 1, minP: 0, maxP: 6},
	"timestamptz":      {params: 1, minP: 0, maxP: 6},
	"jsonb":            {},
	"json":             {},
	"bytea":            {},
}

// typeAliases are the other spellings PostgreSQL accepts for the same types.
var typeAliases = map[string]string{
	"int2":                        "smallint",
	"int":                         "integer",
	"int4":                        "integer",
	"int8":                        "bigint",
	"decimal":                     "numeric",
	"float4":                      "real",
	"float8":                      "double precision",
	"bool":                        "boolean",
	"character varying":           "varchar",
	"time without time zone":      "time",
	"timestamp without time zone": "timestamp",
	"timestamp with time zone":    "timestamptz",
	"float":                       "double precision", // PostgreSQL's float is float8
	"smallserial":                 "smallint",
	"serial":                      "integer",
	"serial4":                     "integer",
	"bigserial":                   "bigint",
	"serial8":                     "bigint",
}

// declareAs says what to declare a PostgreSQL type projector does not
// know as: the type of what Debezium sends for it.
var declareAs = map[string]string{
	"char":                "text (Debezium sends it padded, as PostgreSQL stores it)",
	"character":           "text (Debezium sends it padded, as PostgreSQL stores it)",
	"bpchar":              "text (Debezium sends it padded, as PostgreSQL stores it)",
	"citext":              "text",
	"name":                "text",
	"inet":                "text",
	"cidr":                "text",
	"macaddr":             "text",
	"macaddr8":            "text",
	"xml":                 "text",
	"tsvector":            "text",
	"tsquery":             "text",
	"ltree":               "text",
	"bit":                 "boolean for bit(1), else bytea (as Debezium sends them)",
	"bit varying":         "bytea (as Debezium sends it)",
	"varbit":              "bytea (as Debezium sends it)",
	"timetz":              "text (Debezium sends it as text in UTC, 10:15:30.123456Z)",
	"time with time zone": "text (Debezium sends it as text in UTC, 10:15:30.123456Z)",
	"interval":            "bigint (microseconds, Debezium's default) or text (interval.handling.mode=string)",
	"money":               "numeric(p,2) (Debezium sends it as a decimal)",
	"hstore":              "text (Debezium sends it as JSON text by default)",
	"double":              "double precision",
	"string":              "text",
	"int16":               "smallint",
	"int32":               "integer",
	"int64":               "bigint",
	"float32":             "real",
	"float64":             "double precision",
	"datetime":            "timestamp, or timestamptz for an instant",
}

const supportedTypes = "smallint, integer, bigint, numeric(p,s), real, double precision, boolean, " +
	"text, varchar(n), uuid, date, time, timestamp, timestamptz, jsonb, json, bytea, or one of them with []"

// ParseType parses a type as written in the configuration: case and spacing
// do not matter, "int8" and "bigint" are the same type, and a "[]" suffix
// makes it an array.
func ParseType(s string) (Type, error) {
	t := Type{Precision: -1, Scale: -1}
	norm := strings.Join(strings.Fields(strings.ToLower(s)), " ")
	bad := func(reason string, args ...any) (Type, error) {
		return Type{}, fmt.Errorf("%w %q: %s", ErrType, s, fmt.Sprintf(reason, args...))
	}
	if base, ok := strings.CutSuffix(norm, "[]"); ok {
		t.Array, norm = true, strings.TrimSpace(base)
		if strings.HasSuffix(norm, "]") {
			return bad("only one-dimensional arrays are supported")
		}
	}
	name, params, hasParams := strings.Cut(norm, "(")
	name = strings.TrimSpace(name)
	if canon, ok := typeAliases[name]; ok {
		name = canon
	}
	info, ok := typeParams[name]
	if !ok {
		if as, known := declareAs[name]; known {
			return bad("projector does not hold %s as such: declare it %s", name, as)
		}
		return bad("unknown type; use %s", supportedTypes)
	}
	t.Name = name
	if !hasParams {
		return t, nil
	}
	params, ok = strings.CutSuffix(params, ")")
	if !ok || strings.ContainsAny(params, "()") {
		return bad("parameters must be written (n) or (p,s)")
	}
	parts := strings.Split(params, ",")
	if info.params == 0 {
		return bad("%s takes no parameters", name)
	}
	if len(parts) > info.params {
		return bad("%s takes at most %d parameter(s)", name, info.params)
	}
	nums := make([]int, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return bad("parameters must be whole numbers")
		}
		nums[i] = n
	}
	if nums[0] < info.minP || nums[0] > info.maxP {
		return bad("%s's first parameter must be between %d and %d", name, info.minP, info.maxP)
	}
	t.Precision = nums[0]
	if len(nums) == 2 {
		if nums[1] < 0 || nums[1] > nums[0] {
			return bad("scale must be between 0 and the precision %d", nums[0])
		}
		t.Scale = nums[1]
	}
	return t, nil
}

// String returns the canonical SQL spelling: "numeric(10,2)", "text[]".
// Parameters are printed only for types that take them, so a Type built by
// hand without -1s still prints sensibly for "text".
func (t Type) String() string {
	var b strings.Builder
	b.WriteString(t.Name)
	switch {
	case typeParams[t.Name].params == 0:
	case t.Precision >= 0 && t.Scale >= 0:
		fmt.Fprintf(&b, "(%d,%d)", t.Precision, t.Scale)
	case t.Precision >= 0:
		fmt.Fprintf(&b, "(%d)", t.Precision)
	}
	if t.Array {
		b.WriteString("[]")
	}
	return b.String()
}
