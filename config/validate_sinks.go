package config

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// sinkFields checks the fields a sink keeps (fields:), which are top-level
// fields of the view.
func (v *validator) sinkFields(fields *StringList, vw *View, label string) {
	vi := v.info(fields)
	if vi == nil || vi.bad {
		return
	}
	for i, f := range *fields {
		if _, ok := vw.Fields.Get(f); !ok && i < len(vi.items) {
			v.add(vi.items[i].pos, "%s: fields: %s is not a top-level field of the view", label, vi.items[i].show(f))
		}
	}
	v.distinct(fields, label+": fields")
}

// distinct refuses an item a list names twice (group_by: [status,
// status], left by an edit): the stores refuse such a view at start, a
// key or id column twice, or a field kept twice.
func (v *validator) distinct(list *StringList, label string) {
	vi := v.info(list)
	if vi == nil || vi.bad {
		return
	}
	for i, item := range *list {
		if j := slices.Index((*list)[:i], item); j >= 0 && i < len(vi.items) && j < len(vi.items) {
			first := vi.items[j].pos
			v.add(vi.items[i].pos, "%s: %s is listed twice (first at %d:%d)", label, vi.items[i].show(item), first.Line, first.Col)
		}
	}
}

// postgresIndexes checks the indexes of a PostgreSQL sink; path is the
// sink's. An index field is a column of the view table, or a path into an
// object (customer.id), which the table holds as jsonb.
func (v *validator) postgresIndexes(pg *PostgresSink, vw *View, path []string) {
	for j := range pg.Indexes {
		ix := &pg.Indexes[j]
		label := describe(appendPath(path, "indexes", itoa(j)))
		vi := v.info(&ix.Fields)
		switch {
		case !v.usable(ix) || !v.usable(&ix.Fields):
			continue
		case len(ix.Fields) == 0:
			v.add(v.at(&ix.Fields, ix.Pos), "%s needs fields", label)
			continue
		case vi == nil:
			continue
		}
		for i, f := range ix.Fields {
			if i >= len(vi.items) {
				break
			}
			at, name := vi.items[i].pos, vi.items[i].show(f)
			top, _, _ := strings.Cut(f, ".")
			switch {
			case !placeholder.MatchString(f):
				v.add(at, "%s: %s must be a field name or a dotted path into an object", label, name)
			case !hasFieldPath(vw.Fields, f):
				v.add(at, "%s: %s is not a field of the view", label, name)
			case len(pg.Fields) > 0 && !slices.Contains(pg.Fields, top):
				v.add(at, "%s: %s is not among the fields the sink keeps (%s)", label, name, v.showList(&pg.Fields))
			case top == f && v.unindexableField(vw, f):
				hint := " (" + f + ".key)"
				if vi.items[i].env {
					hint = ""
				}
				v.add(at, "%s: %s is json, which PostgreSQL cannot index (json has no equality): declare it jsonb, or index a path into it%s", label, name, hint)
			}
		}
	}
}

// redisIndexes checks the secondary indexes of a Redis sink; path is the
// sink's.
func (v *validator) redisIndexes(r *RedisSink, vw *View, path []string) {
	if len(r.Indexes) > 0 && r.TTL > 0 {
		// Redis expires keys, not members of a sorted set: an expired
		// document would stay in its indexes.
		v.add(v.at(&r.TTL, r.Pos), "%s: a view with indexes cannot have a ttl (sorted set members do not expire)", describe(path))
	}
	keys := map[string]int{} // key template → index number
	for i := range r.Indexes {
		ix := &r.Indexes[i]
		if !v.usable(ix) {
			continue
		}
		label := describe(appendPath(path, "indexes", itoa(i)))
		key, ok := v.indexKey(ix, vw, label)
		if ix.Key != "" {
			if first, dup := keys[ix.Key]; dup {
				v.add(v.at(&ix.Key, ix.Pos), "%s has the same key as index #%d", label, first)
				ok = false // said already
			} else {
				keys[ix.Key] = i + 1
			}
		}
		if ok {
			v.redisKeys = append(v.redisKeys, key)
		}
		switch {
		case !v.usable(&ix.Score):
		case ix.Score == "":
			v.add(v.at(&ix.Score, ix.Pos), "%s needs a score (the field ordering its members: score: created_at)", label)
		case !placeholder.MatchString(ix.Score):
			v.add(v.at(&ix.Score), "%s: score must name a field (letters, digits, _ and . for nested fields), got %s", label, v.show(&ix.Score))
		case !hasFieldPath(vw.Fields, ix.Score):
			v.add(v.at(&ix.Score), "%s: score %s is not a field of the view", label, v.show(&ix.Score))
		}
	}
}

// indexKey checks the key template of a Redis index: it may have no
// placeholder (one sorted set for the view), and each placeholder names a
// field of the document, not only an id field. A valid one comes back for
// redisKeyOverlaps.
func (v *validator) indexKey(ix *RedisIndex, vw *View, label string) (redisKey, bool) {
	parts, vi, ok := v.keyTemplate(&ix.Key, ix.Pos, label, "user:{customer.id}:orders")
	if !ok {
		return redisKey{}, false
	}
	valid := true
	for _, p := range parts {
		if p.Field && !hasFieldPath(vw.Fields, p.Text) {
			v.add(vi.pos, "%s: key placeholder {%s} is not a field of the view", label, p.Text)
			valid = false
		}
	}
	switch {
	case !valid:
	case parts[0].Field:
		v.add(vi.pos, `%s: key %s starts with a placeholder, so a document could add itself to any key of the Redis database: a key must start with a literal prefix (key: "user:{customer.id}:orders")`, label, v.show(&ix.Key))
	case ownKeySpace(parts):
		v.add(vi.pos, "%s: key %s %s", label, v.show(&ix.Key), ownKeySpaceProblem)
	default:
		return redisKey{owner: label, label: label, parts: parts, pos: vi.pos, show: v.show(&ix.Key)}, true
	}
	return redisKey{}, false
}

// esMappings checks the mapping overrides of an Elasticsearch sink; path
// is the sink's.
func (v *validator) esMappings(es *ElasticsearchSink, vw *View, path []string) {
	for i := range es.Mappings {
		e := &es.Mappings[i]
		label := describe(appendPath(path, "mappings"))
		if !placeholder.MatchString(e.Key) {
			v.add(e.KeyPos, "%s: %q must be a field name or a dotted path into an object", label, e.Key)
			continue
		}
		if problem := v.esMappingPath(es, vw, e.Key); problem != "" {
			v.add(e.KeyPos, "%s: %s", label, problem)
		}
		if !v.usable(&e.Value) {
			continue
		}
		if t, ok := e.Value["type"]; ok {
			s, isString := t.(string)
			switch {
			case !isString || s == "":
				v.add(v.at(&e.Value, e.KeyPos), "%s: the type of %q must be an Elasticsearch field type (keyword, text, long, date, …)", label, e.Key)
			case slices.Contains(esTypes, s):
			case suggest(s, slices.Clone(esTypes)) != "":
				// A type plugins do not add either: Elasticsearch would
				// refuse the index template at start.
				v.add(v.at(&e.Value, e.KeyPos), "%s: the type of %q is not an Elasticsearch field type (did you mean %q?)", label, e.Key, suggest(s, slices.Clone(esTypes)))
			}
		}
	}
}

// esTypes are Elasticsearch 8's field types. A type not among them may be
// a plugin's (murmur3, annotated_text); one a typo away from them is not.
var esTypes = []string{"aggregate_metric_double", "alias", "binary", "boolean", "byte", "completion", "constant_keyword",
	"counted_keyword", "date", "date_nanos", "date_range", "dense_vector", "double", "double_range", "flattened", "float",
	"float_range", "geo_point", "geo_shape", "half_float", "histogram", "integer", "integer_range", "ip", "ip_range", "join",
	"keyword", "long", "long_range", "match_only_text", "nested", "object", "passthrough", "percolator", "point", "rank_feature",
	"rank_features", "scaled_float", "search_as_you_type", "semantic_text", "shape", "short", "sparse_vector", "text",
	"token_count", "unsigned_long", "version", "wildcard"}

// hasFieldPath reports whether a field name or dotted path names a field
// of a document: a top-level field, or a path through joined objects
// (one). A path continuing below a column or expression is accepted, since
// a jsonb value holds objects; only the compiled types (package
// projections) can tell more.
func hasFieldPath(fields Map[Field], path string) bool {
	name, rest, nested := strings.Cut(path, ".")
	f, ok := fields.Get(name)
	switch {
	case !ok:
		return false
	case !nested:
		return true
	case f.One != "" && f.Column == "":
		return hasFieldPath(f.Fields, rest)
	case f.One != "" || f.Many != "" || f.Agg != "":
		return false
	}
	return true
}

// esMappingPath says why the Elasticsearch sink would refuse, or a
// document would not fit, a mapping override at key, or "" when neither.
// The sink nests an override of a dotted path into the mapping of each
// field on the way (sinks/elasticsearch setPath), which must be an object:
// the object of a one or many join, a json or jsonb field (a column of
// undeclared type may be one), or a field an override of its own maps with
// no type, object or nested. The sub-fields of a text field are its
// multi-fields, under fields: in its own mapping.
func (v *validator) esMappingPath(es *ElasticsearchSink, vw *View, key string) string {
	parts := strings.Split(key, ".")
	scalar, typ, ok := v.scalarOnPath(vw, parts)
	if !ok {
		return fmt.Sprintf("%q is not a field of the view", key)
	}
	for i := 1; i < len(parts); i++ {
		prefix := strings.Join(parts[:i], ".")
		m, override := es.Mappings.Get(prefix)
		t, _ := m["type"].(string)
		switch {
		case override && (t == "" || t == "object" || t == "nested"), !override && i != scalar:
			continue
		case override && !slices.Contains(esTypes, t) && suggest(t, slices.Clone(esTypes)) != "":
			continue // a typo, reported at its own mapping
		case override && !slices.Contains(esTypes, t):
			// Not shown: a type no field has may hold a secret.
			return fmt.Sprintf("%q: the mapping of %q gives it a type other than object; set its sub-fields under fields: in %q's own mapping", key, prefix, prefix)
		case override:
			typ = t
		}
		return fmt.Sprintf("%q: %q is a %s field, not an object; set its sub-fields under fields: in %q's own mapping", key, prefix, typ, prefix)
	}
	return ""
}

// scalarOnPath follows a field name or dotted path (parts) through the
// fields of vw and the joined objects and arrays of objects in them. ok
// says whether it names a field: any path below a json or jsonb field
// does. A path continuing below a field of another type comes back with
// the number of parts naming that field, and its type.
func (v *validator) scalarOnPath(vw *View, parts []string) (n int, typ string, ok bool) {
	fields, from := vw.Fields, vw.From
	for i, name := range parts {
		f, ok := fields.Get(name)
		switch {
		case !ok:
			return 0, "", false
		case i == len(parts)-1:
			return 0, "", true
		case f.Many != "" || f.One != "" && f.Column == "":
			fields, from = f.Fields, cmp.Or(f.Many, f.One)
			continue
		case f.Agg != "":
			return 0, "", false // a number
		}
		typ := f.Type
		if typ == "" {
			src, _ := v.c.Sources.Get(cmp.Or(f.One, from))
			typ, _ = src.Columns.Get(f.Column)
		}
		t, err := ParseType(typ)
		if err != nil || t.Name == "json" || t.Name == "jsonb" {
			return 0, "", true // a type declared nowhere, or objects
		}
		return i + 1, t.String(), true
	}
	return 0, "", true
}
