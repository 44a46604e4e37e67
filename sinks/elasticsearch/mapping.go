package elasticsearch

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Tombstone fields. A deleted doc is stored as a tombstone document
// {"_deleted": true, "_deleted_at": …, <key fields>} written with the
// delete's Rev, instead of an Elasticsearch delete; see Sink.Write for why.
// The alias filters tombstones out of searches and counts; a reader that gets
// a document by id through the alias must treat one with _deleted true as
// absent.
const (
	DeletedField   = "_deleted"
	DeletedAtField = "_deleted_at"
)

// templatePriority sits above Elasticsearch's built-in templates (100) so a
// broad built-in pattern never shadows a view's template. A view's template
// has this priority plus the length of its alias: see templateBody.
const templatePriority = 200

// maxKeywordChars is the ignore_above of keyword fields whose values have no
// bound: Lucene refuses a term over 32766 bytes, and the whole doc with it
// ("immense term"); a value of at most 8191 characters is at most 32766
// bytes of UTF-8. A longer value is kept in _source but not indexed: term
// filters, facets and sorts do not see it.
const maxKeywordChars = 8191

// IPSubField is the ip sub-field of an inet field (see FieldMapping):
// "<field>.ip" holds the plain addresses, for range and CIDR term queries.
const IPSubField = "ip"

// FieldMapping returns the Elasticsearch mapping generated for a view field
// of that SQL type, or nil when the type is unknown (the field is then left
// to dynamic mapping). The rules:
//
//   - text, varchar, char, citext: text with a keyword sub-field
//     (fields.keyword, ignore_above 256) for sorting, terms and facets; but a
//     field named "id" or ending in "_id" is an identifier: keyword with
//     ignore_above 8191 (maxKeywordChars).
//   - uuid, time, interval, money and other exact-text types of bounded
//     length: keyword. xml, tsvector, bit and bit varying, whose values
//     have no bound: keyword with ignore_above 8191, so that a long value
//     is kept in _source but not indexed, instead of failing the doc.
//   - smallint, integer, bigint (and serials): long.
//   - numeric(p,0) with p ≤ 18: long (fits in 64 bits), ignore_malformed.
//   - numeric(p,s) with p ≤ 15: scaled_float, scaling_factor 10^s,
//     ignore_malformed. Elasticsearch parses the value as a double and
//     stores round(value × 10^s) as a long, which is exact only while the
//     value has at most 15 significant digits.
//   - numeric with larger precision, without precision, or with a negative
//     scale (every sum and avg aggregate): keyword, which keeps the exact
//     digits, with a double sub-field (fields.number, NumberSubField) that
//     ranges, sorts and numeric equality use: no other type both keeps
//     the digits and compares by value. ignore_malformed on the sub-field
//     keeps a value beyond double's range (or NaN) from failing the doc:
//     it is then only in the keyword.
//   - real: float; double precision: double; both ignore_malformed.
//     boolean: boolean.
//   - date, timestamp, timestamptz: date, ignore_malformed (millisecond
//     precision in the index; _source keeps the full value).
//   - ignore_malformed is set on every type whose PostgreSQL values include
//     some Elasticsearch cannot index: numeric's NaN (and Infinity),
//     double precision's and real's NaN and ±Infinity, the ±infinity of
//     dates and timestamps (see debezium). Such a value is kept in _source
//     and listed in the doc's _ignored, but not indexed, instead of the
//     doc being refused.
//   - json, jsonb: an object with "enabled": false. Any JSON value is kept
//     in _source and returned, but nothing inside is indexed. A dynamic
//     object mapping would refuse scalars, arrays of scalars and arrays
//     mixing types — all valid jsonb — and a refused doc blocks its
//     partition, since the engine retries failed docs and never skips them.
//     To search or facet inside a jsonb field, give it (or one of its
//     sub-fields, "customer.email") a mapping override: an override below
//     a jsonb field turns it into an indexed object with dynamic mapping.
//   - object (an embedded document of known shape): object with dynamic
//     mapping of what is inside.
//   - bytea: binary.
//   - inet: keyword, with an ip sub-field (fields.ip, IPSubField,
//     ignore_malformed). An inet value may carry a netmask ("10.1.2.3/8"),
//     which Elasticsearch's ip type cannot hold: the keyword keeps the
//     value as Postgres writes it, the sub-field indexes plain addresses
//     (range and CIDR queries) and skips the others. cidr: keyword, since
//     a cidr value always has a netmask.
//   - T[] (and Postgres' _T): the mapping of T, since every Elasticsearch
//     field holds zero or more values.
func FieldMapping(name, sqlType string) map[string]any {
	t := strings.ToLower(strings.Join(strings.Fields(sqlType), " "))
	for strings.HasSuffix(t, "[]") {
		t = strings.TrimSpace(strings.TrimSuffix(t, "[]"))
	}
	if strings.HasPrefix(t, "_") {
		t = t[1:]
	}
	args := typeArgs.FindStringSubmatch(t)
	base := strings.Join(strings.Fields(typeArgs.ReplaceAllString(t, " ")), " ")
	keyword := map[string]any{"type": "keyword"}
	longKeyword := map[string]any{"type": "keyword", "ignore_above": maxKeywordChars}
	switch base {
	case "smallint", "integer", "int", "int2", "int4", "int8", "bigint", "serial", "serial4", "serial8",
		"bigserial", "smallserial":
		return map[string]any{"type": "long"}
	case "numeric", "decimal":
		return numericMapping(args)
	case "real", "float4":
		return map[string]any{"type": "float", "ignore_malformed": true}
	case "double precision", "float8", "float", "double":
		return map[string]any{"type": "double", "ignore_malformed": true}
	case "boolean", "bool":
		return map[string]any{"type": "boolean"}
	case "date", "timestamp", "timestamptz", "timestamp with time zone", "timestamp without time zone":
		return map[string]any{"type": "date", "ignore_malformed": true}
	case "text", "varchar", "character varying", "char", "character", "bpchar", "citext", "name", "string":
		if name == "id" || strings.HasSuffix(name, "_id") {
			return longKeyword
		}
		return map[string]any{
			"type":   "text",
			"fields": map[string]any{"keyword": map[string]any{"type": "keyword", "ignore_above": 256}},
		}
	case "uuid", "time", "timetz", "time with time zone", "time without time zone", "interval", "money",
		"cidr", "macaddr", "macaddr8", "enum":
		return keyword
	case "bit", "bit varying", "varbit", "xml", "tsvector":
		return longKeyword
	case "json", "jsonb":
		return map[string]any{"type": "object", "enabled": false}
	case "object", "record":
		return map[string]any{"type": "object", "dynamic": true}
	case "bytea":
		return map[string]any{"type": "binary"}
	case "inet":
		return map[string]any{"type": "keyword", "fields": map[string]any{
			IPSubField: map[string]any{"type": "ip", "ignore_malformed": true},
		}}
	}
	return nil
}

var typeArgs = regexp.MustCompile(`\(\s*(-?\d+)?\s*(?:,\s*(-?\d+)\s*)?\)`)

// NumberSubField is the double sub-field of a numeric mapped as keyword
// (see FieldMapping): "<field>.number" compares by value.
const NumberSubField = "number"

func numericMapping(args []string) map[string]any {
	// A numeric of no declared precision (sums and averages among them)
	// has no bound on its digits: past maxKeywordChars it is kept in
	// _source, not indexed, rather than refused as an immense term.
	keyword := map[string]any{"type": "keyword", "ignore_above": maxKeywordChars, "fields": map[string]any{
		NumberSubField: map[string]any{"type": "double", "ignore_malformed": true},
	}}
	if args == nil || args[1] == "" {
		return keyword
	}
	p, err := strconv.Atoi(args[1])
	if err != nil {
		return keyword
	}
	s := 0
	if args[2] != "" {
		if s, err = strconv.Atoi(args[2]); err != nil {
			return keyword
		}
	}
	switch {
	case s == 0 && p <= 18:
		return map[string]any{"type": "long", "ignore_malformed": true}
	case s > 0 && p <= 15:
		return map[string]any{"type": "scaled_float", "scaling_factor": math.Pow10(s), "ignore_malformed": true}
	}
	return keyword
}

// templateBody is the index template of one view: it applies to every
// generation index <alias>-g<N>.
//
// Aliases may share a prefix ("user", "user-groups"), and Elasticsearch
// refuses a template whose patterns overlap another's at the same
// priority. So the patterns are <alias>-g1* … <alias>-g9* (a generation
// number has no leading zero), which "user-groups-g1" does not match, and
// the priority grows with the alias's length: templates of aliases of equal
// length cannot overlap, and when one alias is "<other>-g<digit>…" the
// longer alias's template wins for its own indices.
func templateBody(v *View) (map[string]any, error) {
	props, err := indexProperties(v)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"index_patterns": indexPatterns(v.Alias),
		"priority":       templatePriority + len(v.Alias),
		"template": map[string]any{
			"settings": map[string]any{totalFieldsLimit: fieldLimit(props)},
			"mappings": map[string]any{"dynamic": true, "properties": props},
		},
		"_meta": map[string]any{"managed_by": "projector", "view": v.Name},
	}, nil
}

// indexProperties is the mapping properties of a view's index: its
// fields' (Properties) and the tombstone fields.
func indexProperties(v *View) (map[string]any, error) {
	props, err := Properties(v)
	if err != nil {
		return nil, err
	}
	props[DeletedField] = map[string]any{"type": "boolean"}
	props[DeletedAtField] = map[string]any{"type": "date"}
	return props, nil
}

// totalFieldsLimit is the index setting bounding how many fields an
// index maps (see fieldLimit).
const totalFieldsLimit = "index.mapping.total_fields.limit"

// fieldLimit is the total_fields.limit of an index of those properties:
// its generated fields and room for dynamic ones.
func fieldLimit(props map[string]any) int {
	return fieldCount(props) + dynamicFields
}

// dynamicFields is the room a view's index keeps for dynamically mapped
// fields (the fields of a jsonb value given an override, of a field of
// unknown type) beyond its generated ones: Elasticsearch's default
// index.mapping.total_fields.limit, which an index of no mapping has.
// Elasticsearch counts every field against that limit, object and
// multi-fields included, whenever it merges a mapping: under the default,
// a view of over 500 text fields (each with its .keyword) could have no
// index.
const dynamicFields = 1000

// fieldCount counts the fields of a mapping's properties as Elasticsearch
// counts them against index.mapping.total_fields.limit: every field, each
// with the fields of its own properties and its multi-fields.
func fieldCount(props map[string]any) int {
	n := 0
	for _, p := range props {
		n++
		if m, ok := p.(map[string]any); ok {
			sub, _ := m["properties"].(map[string]any)
			multi, _ := m["fields"].(map[string]any)
			n += fieldCount(sub) + fieldCount(multi)
		}
	}
	return n
}

// indexPatterns match the generation indices <alias>-g<N> of an alias, and
// no other alias's generation indices unless that alias is itself
// "<alias>-g<digit>…" (see templateBody).
func indexPatterns(alias string) []string {
	out := make([]string, 0, 9)
	for d := '1'; d <= '9'; d++ {
		out = append(out, alias+"-g"+string(d)+"*")
	}
	return out
}

// Properties is the mapping of a view's fields as its index template
// holds them: the generated mapping of each field (FieldMapping), then the
// view's overrides. The query server uses it to know how each field is
// indexed, so reads and writes cannot disagree. It nests overrides of
// dotted paths into the override maps of v.Mappings, which is idempotent.
func Properties(v *View) (map[string]any, error) {
	props := map[string]any{}
	for _, f := range v.Fields {
		if m := FieldMapping(f.Name, f.Type); m != nil {
			if err := setPath(props, f.Name, m); err != nil {
				return nil, err
			}
		}
	}
	// Shorter paths first, so an override of "customer" comes before one of
	// "customer.email" and both apply.
	names := make([]string, 0, len(v.Mappings))
	for name := range v.Mappings {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		raw := v.Mappings[name]
		m, ok := raw.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w: view %q: mapping of %q is not an object", ErrConfig, v.Name, name)
		}
		if err := setPath(props, name, m); err != nil {
			return nil, err
		}
	}
	return props, nil
}

// setPath places a mapping at a dotted path ("customer.name" inside the
// object "customer"), creating object mappings on the way, so YAML overrides
// can reach into embedded objects.
func setPath(props map[string]any, path string, m map[string]any) error {
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		parent, ok := props[p].(map[string]any)
		if !ok {
			parent = map[string]any{"type": "object"}
			props[p] = parent
		}
		if t, _ := parent["type"].(string); t != "" && t != "object" && t != "nested" {
			return fmt.Errorf("%w: mapping of %q: %q is a %s field, not an object", ErrConfig, path, p, t)
		}
		if parent["enabled"] == false {
			// A jsonb field with a sub-field override becomes an indexed
			// object, or the override would have no effect.
			delete(parent, "enabled")
			parent["dynamic"] = true
		}
		sub, ok := parent["properties"].(map[string]any)
		if !ok {
			sub = map[string]any{}
			parent["properties"] = sub
		}
		props = sub
	}
	props[parts[len(parts)-1]] = m
	return nil
}

// aliasFilter hides tombstones from searches and counts through the alias.
func aliasFilter() map[string]any {
	return map[string]any{"bool": map[string]any{"must_not": []any{
		map[string]any{"term": map[string]any{DeletedField: true}},
	}}}
}
