package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

func (v *validator) views() {
	c := v.c
	if len(c.Views) == 0 && v.usable(&c.Views) {
		v.add(v.at(&c.Views), "at least one view is required (views:)")
	}
	tables := make(map[string]string)  // schema.table → view
	indexes := make(map[string]string) // elasticsearch index → view
	for i := range c.Views {
		e := &c.Views[i]
		vw := &e.Value
		path := []string{"views", e.Key}
		label := describe(path)
		if !validName(e.Key) {
			v.add(e.KeyPos, "view name must be lowercase letters, digits and _, not starting with a digit (at most %d), got %q", maxIdent, e.Key)
		}
		if !v.usable(vw) {
			continue
		}
		switch {
		case !v.usable(&vw.From):
		case vw.From == "":
			v.add(v.at(&vw.From, e.KeyPos), "%s needs from: (its root source)", label)
		default:
			v.source(&vw.From)
		}
		if len(vw.Fields) == 0 && v.usable(&vw.Fields) {
			v.add(v.at(&vw.Fields, e.KeyPos), "%s needs fields", label)
		}
		if vw.Refresh < 0 || vw.Refresh > 0 && vw.Refresh < MinRefresh {
			got := time.Duration(vw.Refresh).String()
			if vi := v.info(&vw.Refresh); vi != nil && vi.env {
				got = fromEnv(vi.raw)
			}
			v.add(v.at(&vw.Refresh, e.KeyPos), "%s: refresh must be at least 1s (or 0s: never), got %s", label, got)
		}
		v.distinct(&vw.ID, label+": id")
		v.distinct(&vw.GroupBy, label+": group_by")
		var group *StringList
		if len(vw.GroupBy) > 0 {
			group = &vw.GroupBy
		}
		v.fields(vw.Fields, path, group)
		v.reservedFields(vw.Fields, vw.Sinks.Elasticsearch != nil)
		if k, ok := v.redis(e); ok {
			v.redisKeys = append(v.redisKeys, k)
		}
		v.sinks(e, tables, indexes) // adds the Redis indexes' keys
	}
	v.redisKeyOverlaps(v.redisKeys)
}

// redisKey is a key template of a view's Redis sink: its documents' or an
// index's.
type redisKey struct {
	owner string // `view "orders"` or the index, for messages naming it
	label string // the sink or index, for messages
	parts []KeyPart
	pos   Pos
	show  string // the template, for messages
}

// redisKeyOverlaps refuses two key templates, of documents or of indexes,
// that can give the same key: a placeholder's value may hold the other
// key's literal text ("p:{sku}" for sku "1:stats" is "p:{sku}:stats" for
// sku 1), and each would overwrite, or mix its members into, the other's
// key. Every template is compared with every other one: each is spelled
// once, not once per pair.
func (v *validator) redisKeyOverlaps(keys []redisKey) {
	plain := make([]keyPattern, len(keys))
	tags := make([]keyPattern, len(keys)) // as their revision keys are named
	for i, k := range keys {
		plain[i], tags[i] = newKeyPattern(k.parts), newKeyPattern(untagged(k.parts))
	}
	for i, k := range keys {
		for j, first := range keys[:i] {
			switch {
			case plain[j].overlaps(plain[i]):
				v.add(k.pos, "%s: key %s can give the same key as key %s of %s (at %d:%d), since a placeholder's value may hold any text: one would overwrite the other; give each a prefix of its own",
					k.label, k.show, first.show, first.owner, first.pos.Line, first.pos.Col)
			case tags[j].overlaps(tags[i]):
				v.add(k.pos, "%s: key %s can give the key of key %s of %s (at %d:%d) in a cluster hash tag, {…}: the two keys share a slot's revision key (projector:rev:{…}), and one's revisions would make the other's documents stale; give each a prefix of its own",
					k.label, k.show, first.show, first.owner, first.pos.Line, first.pos.Col)
			}
		}
	}
}

// untagged is a key template without a hash tag around all of it
// ({{cart:{id}}} is cart:{id}): the sink names a key's revision key by its
// tag, and a key without one by the whole key, so the two share it.
func untagged(parts []KeyPart) []KeyPart {
	n := len(parts)
	if n == 0 || parts[0].Field || parts[n-1].Field || !strings.HasPrefix(parts[0].Text, "{") || !strings.HasSuffix(parts[n-1].Text, "}") {
		return parts
	}
	out := slices.Clone(parts)
	if n == 1 {
		if len(out[0].Text) < 2 {
			return parts
		}
		out[0].Text = out[0].Text[1 : len(out[0].Text)-1]
		return out
	}
	out[0].Text = out[0].Text[1:]
	out[n-1].Text = strings.TrimSuffix(out[n-1].Text, "}")
	return out
}

// reserved are the names a view's top-level field cannot take: the columns
// the postgres sink adds to every view table (the elasticsearch sink marks
// its delete tombstones with _deleted too).
var reserved = []string{"_rev", "_deleted", "_updated_at"}

// esReserved are the names a top-level field of a view with an
// elasticsearch sink cannot take besides: Elasticsearch's metadata fields,
// which a mapping cannot define again nor a document carry (a MongoDB
// _id is mapped as id: _id), and _deleted_at, which the sink writes in
// its tombstones.
var esReserved = []string{"_id", "_index", "_source", "_routing", "_version", "_seq_no", "_primary_term",
	"_ignored", "_field_names", "_doc_count", "_tier", "_data_stream_timestamp", "_nested_path", "_feature", "_deleted_at"}

func (v *validator) reservedFields(m Map[Field], elasticsearch bool) {
	for _, e := range m {
		switch {
		case slices.Contains(reserved, e.Key):
			v.add(e.KeyPos, "field name %q is reserved: the sinks add %s to the documents they store", e.Key, joinAnd(reserved))
		case elasticsearch && slices.Contains(esReserved, e.Key):
			v.add(e.KeyPos, "field name %q is reserved in a view with an elasticsearch sink (Elasticsearch's own fields and the sink's _deleted_at): rename it, to %q say",
				e.Key, strings.TrimLeft(e.Key, "_"))
		}
	}
}

// source checks that *ptr names a declared source.
func (v *validator) source(ptr *string) {
	if _, ok := v.c.Sources.Get(*ptr); !ok && v.usable(ptr) {
		v.add(v.at(ptr), "unknown source %s (%s)", v.show(ptr), known(v.c.Sources))
	}
}

// fields checks the fields of a view (path is the view's) or of a joined
// object (path is the joining field's). group is the view's group_by for
// its top-level fields, nil otherwise.
func (v *validator) fields(m Map[Field], path []string, group *StringList) {
	for i := range m {
		e := &m[i]
		fpath := appendPath(path, "fields", e.Key)
		if !fieldName.MatchString(e.Key) {
			v.add(e.KeyPos, "field name must be letters, digits and _, not starting with a digit, got %q", e.Key)
		}
		if v.usable(&e.Value) {
			v.field(&e.Value, e.KeyPos, fpath, group)
		}
	}
}

// field checks one field. Errors about the field as a whole point at its
// key; errors about one of its keys point at that key's value.
func (v *validator) field(f *Field, keyPos Pos, path []string, group *StringList) {
	label := describe(path)
	var kinds []string
	if f.Column != "" && f.One == "" {
		kinds = append(kinds, "column")
	}
	for _, k := range []struct{ name, value string }{{"expr", f.Expr}, {"one", f.One}, {"many", f.Many}, {"agg", f.Agg}} {
		if k.value != "" {
			kinds = append(kinds, k.name)
		}
	}
	switch {
	case len(kinds) == 0 && v.allUsable(&f.Column, &f.Expr, &f.One, &f.Many, &f.Agg):
		v.add(keyPos, "%s needs one of column, expr, one, many or agg", label)
	case len(kinds) > 1:
		v.add(keyPos, "%s has %s: use exactly one of column, expr, one, many or agg", label, joinAnd(kinds))
	}
	join := f.One != "" || f.Many != ""
	if f.One != "" {
		v.source(&f.One)
	}
	if f.Many != "" {
		v.source(&f.Many)
	}
	v.joinKeys(f, keyPos, label, join)

	switch {
	case f.Expr != "" && f.Type == "" && v.usable(&f.Type):
		v.add(keyPos, "%s needs a type with expr (type: bigint, text, ...)", label)
	case f.Type == "":
	case f.Many != "" || f.One != "" && f.Column == "":
		v.add(v.at(&f.Type), "%s: type is not valid with one or many (a joined object's types are its fields' types)", label)
	case f.One != "":
		v.add(v.at(&f.Type), "%s: type is not valid with one ... column: (the value is the joined column's, of its type; retype it in an expr)", label)
	case f.Agg != "":
		v.add(v.at(&f.Type), "%s: type is not valid with agg (an aggregate's type follows its function and column; round it in an expr)", label)
	default:
		v.columnType(&f.Type, keyPos, "type of "+label)
	}

	if f.Agg != "" {
		v.oneOf(&f.Agg, "agg of "+label, "count", "sum", "min", "max", "avg")
		if f.Agg != "count" && f.Of == "" && v.usable(&f.Of) {
			v.add(keyPos, "%s needs of: (the column or nested field to aggregate)", label)
		}
	} else if v.d.present(&f.Of) {
		v.add(v.at(&f.Of), "%s: of is only valid with agg", label)
	}
	if v.d.present(&f.OrderBy) && f.Many == "" {
		v.add(v.at(&f.OrderBy), "%s: order_by is only valid with many", label)
	}
	if v.d.present(&f.Limit) && v.usable(&f.Limit) {
		switch {
		case f.Many == "":
			v.add(v.at(&f.Limit), "%s: limit is only valid with many", label)
		case f.Limit <= 0:
			v.add(v.at(&f.Limit), "%s: limit must be positive, got %s", label, v.info(&f.Limit).showInt(f.Limit))
		}
	}
	if vi := v.info(&f.OrderBy); vi != nil {
		for i, col := range f.OrderBy {
			if i < len(vi.items) && strings.TrimPrefix(col, "-") == "" {
				v.add(vi.items[i].pos, `%s: order_by items are column names, "-column" for descending`, label)
			}
		}
	}
	if v.d.present(&f.Where) && !join && f.Agg == "" {
		v.add(v.at(&f.Where), "%s: where is only valid with one, many or agg", label)
	}
	if join && f.Column == "" && !v.d.present(&f.Fields) && v.usable(&f.Fields) {
		// Else the joined object is {} in every document: a fields: block
		// forgotten, or indented under the wrong key.
		need := "fields: (the joined row's fields to embed)"
		if f.One != "" {
			need += " or column: (one of its columns)"
		}
		v.add(keyPos, "%s needs %s", label, need)
	}
	if v.d.present(&f.Fields) {
		switch {
		case !join:
			v.add(v.at(&f.Fields), "%s: fields is only valid with one or many", label)
		case f.One != "" && f.Column != "":
			v.add(v.at(&f.Fields), "%s selects column %s of the joined row, so it cannot have fields", label, v.show(&f.Column))
		default:
			v.fields(f.Fields, path, nil)
		}
	}
	if group != nil && f.Agg == "" && f.Expr == "" && f.One == "" {
		switch {
		case f.Many != "":
			v.add(keyPos, "%s: a group_by view embeds one joined row per group (one:, on its group_by columns), not arrays", label)
		case f.Column == "":
			v.add(keyPos, "%s: a group_by view has only group_by columns, agg fields, expr fields over them and one: joins on them", label)
		case !slices.Contains(*group, f.Column):
			v.add(v.at(&f.Column, keyPos), "%s: column %s is not in group_by (%s)", label, v.show(&f.Column), v.showList(group))
		}
	}
}

// joinKeys checks `on`, the join condition of one and many.
func (v *validator) joinKeys(f *Field, keyPos Pos, label string, join bool) {
	switch {
	case join && len(f.On) == 0 && v.usable(&f.On):
		v.add(v.at(&f.On, keyPos), "%s needs on: (joined column: column of this row)", label)
	case !join && v.d.present(&f.On):
		v.add(v.at(&f.On), "%s: on is only valid with one or many", label)
	}
	for i := range f.On {
		e := &f.On[i]
		if e.Value == "" && v.usable(&e.Value) {
			v.add(v.at(&e.Value, e.KeyPos), "%s: on.%s needs a column of this row", label, e.Key)
		}
	}
}

func (v *validator) allUsable(ptrs ...*string) bool {
	for _, p := range ptrs {
		if !v.usable(p) {
			return false
		}
	}
	return true
}

func (v *validator) sinks(e *Entry[View], tables, indexes map[string]string) {
	s := &e.Value.Sinks
	path := []string{"views", e.Key, "sinks"}
	if s.Postgres == nil && s.Redis == nil && s.Elasticsearch == nil &&
		v.usable(s) && v.usable(&s.Postgres) && v.usable(&s.Redis) && v.usable(&s.Elasticsearch) {
		v.add(v.at(s, e.KeyPos), "%s has no sinks (postgres, redis or elasticsearch)", describe(path[:2]))
	}
	if pg := s.Postgres; pg != nil {
		label := describe(appendPath(path, "postgres"))
		v.ident(&pg.Table, pg.Pos, "table of "+label)
		v.ident(&pg.Schema, pg.Pos, "schema of "+label)
		v.postgresSchema(pg, label)
		v.generationTable(pg, e, label)
		if own := &v.c.Stores.Postgres.Schema; pg.Schema == *own && IsOwnTable(pg.Table) && v.usable(own) && v.usable(&pg.Table) {
			v.add(v.at(&pg.Table, e.KeyPos), "%s: table %s is named like one of projector's own tables or indexes in schema %s (stores.postgres.schema): set another table or schema", label, v.show(&pg.Table), quote(*own))
		}
		target := pg.Schema + "." + pg.Table
		if other, dup := tables[target]; dup {
			v.add(v.at(&pg.Table, pg.Pos), "%s writes the same table %sas view %q", label, v.name(target, &pg.Schema, &pg.Table), other)
		} else {
			tables[target] = e.Key
		}
		v.sinkFields(&pg.Fields, &e.Value, label)
		v.columnNames(pg, &e.Value, label)
		v.postgresIndexes(pg, &e.Value, appendPath(path, "postgres"))
	}
	if r := s.Redis; r != nil {
		v.sinkFields(&r.Fields, &e.Value, describe(appendPath(path, "redis")))
		v.redisIndexes(r, &e.Value, appendPath(path, "redis"))
	}
	if es := s.Elasticsearch; es != nil {
		label := describe(appendPath(path, "elasticsearch"))
		switch reason := indexProblem(es.Index); {
		case reason == "" || !v.usable(&es.Index):
		case v.info(&es.Index) == nil:
			v.add(es.Pos, "%s: the default index (the view name %q) %s; set index", label, es.Index, reason)
		default:
			v.add(v.at(&es.Index), "index of %s %s, got %s", label, reason, v.show(&es.Index))
		}
		if other, dup := indexes[es.Index]; dup {
			v.add(v.at(&es.Index, es.Pos), "%s writes the same index %sas view %q", label, v.name(es.Index, &es.Index), other)
		} else {
			indexes[es.Index] = e.Key
		}
		v.esMappings(es, &e.Value, appendPath(path, "elasticsearch"))
	}
}

// columnNames checks that the fields a PostgreSQL sink writes as columns
// have names PostgreSQL keeps whole (it would cut a longer one to 63
// bytes, and the sink refuses it) and that are not its system columns'.
func (v *validator) columnNames(pg *PostgresSink, view *View, label string) {
	ids := v.idFields(view)
	for _, f := range view.Fields {
		switch {
		case !writtenColumn(pg, ids, f.Key):
		case len(f.Key) > maxIdent:
			v.add(f.KeyPos, "field %q of %s is %d bytes long: a PostgreSQL column name has at most %d", f.Key, label, len(f.Key), maxIdent)
		case slices.Contains(pgSystemColumns, f.Key):
			v.add(f.KeyPos, "field name %q is one of PostgreSQL's system columns (%s), which the table of %s cannot have: rename the field", f.Key, joinAnd(pgSystemColumns), label)
		}
	}
	v.jsonIDs(view, ids, label)
}

// OwnTables are the tables and views projector keeps in its own schema
// (stores.postgres.schema), but the state's, state_<source>: a view table
// there must not take one of their names. A test checks the list against
// what the migrations create.
var OwnTables = []string{"conflicts", "definitions", "generations", "group_aggs", "group_keepers", "instances", "pending",
	"pending_batches", "redis_templates", "refreshes", "registry", "rev_floors", "revs", "state_columns", "truncates", "watermarks"}

// ownRelations are the other relations projector keeps in its schema
// besides its tables' primary keys (<table>_pkey): tables, indexes and
// sequences share one namespace in a schema, so a view table named like
// one of them passes no check until CREATE TABLE fails at run. Indexes
// named with a '#' (state_<source>#tombstones) cannot clash: a view
// table's name has no '#'.
var ownRelations = []string{"generations_one_active", "generations_one_build", "pending_batches_id_seq"}

// IsOwnTable reports whether name is, or may be, the name of one of
// projector's own tables in its schema, or of their indexes or sequences.
func IsOwnTable(name string) bool {
	if base, ok := strings.CutSuffix(name, "_pkey"); ok && slices.Contains(OwnTables, base) {
		return true
	}
	return slices.Contains(OwnTables, name) || slices.Contains(ownRelations, name) || strings.HasPrefix(name, "state_")
}

// maxTableName leaves a view table's name room for the suffix of its
// generations' tables, <table>__g<N>, up to a million rebuilds, within
// PostgreSQL's 63 bytes.
const maxTableName = maxIdent - len("__g") - 6

// generationTable checks what the generations of a view's table need:
// room in the name for their suffix, and a name that is not itself
// another table's generation (a__g1 is view a's first).
func (v *validator) generationTable(pg *PostgresSink, e *Entry[View], label string) {
	if !v.usable(&pg.Table) || !validName(pg.Table) {
		return // reported as a name already
	}
	at := v.at(&pg.Table, e.KeyPos)
	switch {
	case len(pg.Table) > maxTableName:
		v.add(at, "table of %s is %d bytes long: at most %d leave room for its generations' suffix (__g<N>) within PostgreSQL's %d; set a shorter table", label, len(pg.Table), maxTableName, maxIdent)
	case generationName.MatchString(pg.Table):
		v.add(at, "table of %s ends like a generation's table (<table>__g<N>, another view's), got %s", label, v.show(&pg.Table))
	}
}

var generationName = regexp.MustCompile(`__g[0-9]+$`)

// maxIndexName is the longest alias a view's Elasticsearch sink takes (the
// sink's own limit): its generations' indices add -g<N>.
const maxIndexName = 200

// esGenerationName is the form of a generation's index: an alias of that
// form could be the name of another view's index, which Elasticsearch
// refuses as an alias.
var esGenerationName = regexp.MustCompile(`-g[0-9]+$`)

// redis checks the Redis sink of view e, if it has one, and returns its
// key when the key is valid.
func (v *validator) redis(e *Entry[View]) (key redisKey, ok bool) {
	r := e.Value.Sinks.Redis
	if r == nil {
		return redisKey{}, false
	}
	label := describe([]string{"views", e.Key, "sinks", "redis"})
	v.oneOf(&r.Format, "format of "+label, "json", "hash", "rejson")
	if r.TTL < 0 || r.TTL > 0 && r.TTL < Duration(time.Millisecond) {
		v.add(v.at(&r.TTL, r.Pos), "%s: ttl must be 0 (none) or at least 1ms (Redis expires in milliseconds)", label)
	}
	parts, vi, ok := v.keyTemplate(&r.Key, r.Pos, label, "order:{id}")
	switch {
	case !ok:
	case !slices.ContainsFunc(parts, func(p KeyPart) bool { return p.Field }):
		v.add(vi.pos, "%s: key %s has no {field} placeholder, so every document would share one key", label, v.show(&r.Key))
	case parts[0].Field:
		// Its value could be any key of the database, another view's or
		// another application's.
		v.add(vi.pos, `%s: key %s starts with a placeholder, so a document could write any key of the Redis database: a key must start with a literal prefix (key: "order:{id}")`, label, v.show(&r.Key))
	case ownKeySpace(parts):
		v.add(vi.pos, "%s: key %s %s", label, v.show(&r.Key), ownKeySpaceProblem)
	default:
		return redisKey{owner: fmt.Sprintf("view %q", e.Key), label: label, parts: parts, pos: vi.pos, show: v.show(&r.Key)}, true
	}
	return redisKey{}, false
}

// ownKeys starts projector's own Redis keys: documents' revisions, index
// memberships, the views' markers.
const ownKeys = "projector:"

const ownKeySpaceProblem = "could name one of projector's own keys (" + ownKeys + "rev:…, " + ownKeys + "ix:…, " + ownKeys + "marker:…): start it with another prefix"

// ownKeySpace reports whether a key template's keys may fall in
// projector's own key space: its literal start is in it, or is the start
// of it with a placeholder after it ("proj{x}" for x "ector:rev:1").
func ownKeySpace(parts []KeyPart) bool {
	if len(parts) == 0 || parts[0].Field {
		return false
	}
	lit := parts[0].Text
	return strings.HasPrefix(lit, ownKeys) || len(parts) > 1 && strings.HasPrefix(ownKeys, lit)
}

// keyTemplate parses a Redis key template, reporting a missing or invalid
// one (example shows a valid one); ok is false when it was reported or is
// not usable.
func (v *validator) keyTemplate(key *string, fallback Pos, label, example string) (parts []KeyPart, vi *valueInfo, ok bool) {
	switch {
	case !v.usable(key):
		return nil, nil, false
	case *key == "":
		v.add(v.at(key, fallback), `%s needs a key template (key: "%s")`, label, example)
		return nil, nil, false
	}
	parts, err := ParseKeyTemplate(*key)
	vi = v.info(key)
	switch {
	case err != nil && vi.env:
		v.add(vi.pos, "%s: key is not a valid template (%s)", label, fromEnv(vi.raw))
	case err != nil:
		v.add(vi.pos, "%s: %s", label, err)
	default:
		return parts, vi, true
	}
	return nil, nil, false
}

// ident checks a PostgreSQL identifier; a defaulted one (the view name) was
// already checked as a view name.
func (v *validator) ident(ptr *string, fallback Pos, label string) {
	if v.info(ptr) != nil && v.usable(ptr) && !validName(*ptr) {
		v.add(v.at(ptr, fallback), "%s must be lowercase letters, digits and _, not starting with a digit (at most %d), got %s", label, maxIdent, v.show(ptr))
	}
}

// name returns `"value" ` for a message, or "" when one of the strings it
// was built from came from the environment.
func (v *validator) name(value string, from ...*string) string {
	for _, p := range from {
		if vi := v.info(p); vi != nil && vi.env {
			return ""
		}
	}
	return quote(value) + " "
}

// indexProblem says why s is not a valid Elasticsearch index name ("must
// ..."), or "".
func indexProblem(s string) string {
	switch {
	case s == "" || s == "." || s == "..":
		return "must not be empty, . or .."
	case len(s) > maxIndexName:
		return fmt.Sprintf("must be at most %d bytes (its generations' indices, <index>-g<N>, must fit Elasticsearch's 255)", maxIndexName)
	case esGenerationName.MatchString(s):
		return "must not end like a generation's index (<index>-g<N>, another view's)"
	case strings.ToLower(s) != s:
		return "must be lowercase"
	case strings.ContainsAny(s, "\\/*?\"<>|,#: \t\n"):
		return `must not contain \ / * ? " < > | , # : or spaces`
	case strings.IndexAny(s[:1], "-_+") == 0:
		return "must not start with -, _ or +"
	}
	return ""
}

// DisabledSinks lists the sinks that views declare but whose store has no
// URL, as "view.redis" or "view.elasticsearch", in file order. The daemon
// runs without them; the CLI logs them once.
func (c *Config) DisabledSinks() []string {
	var out []string
	for _, e := range c.Views {
		if e.Value.Sinks.Redis != nil && c.Stores.Redis.URL == "" {
			out = append(out, e.Key+".redis")
		}
		if e.Value.Sinks.Elasticsearch != nil && c.Stores.Elasticsearch.URL == "" {
			out = append(out, e.Key+".elasticsearch")
		}
	}
	return out
}
