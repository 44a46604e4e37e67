package definition

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/projectorhq/projector/projector"
)

// Store names, as the registry names them.
const (
	StorePostgres      = "postgres"
	StoreRedis         = "redis"
	StoreElasticsearch = "elasticsearch"
)

// Finding is one difference between the definition a view's documents
// were computed with and the current one.
type Finding struct {
	// Store is the one store the difference concerns; "" is every store
	// of the view (its fields, filter, joins...).
	Store string
	// Text says what changed, in a few words.
	Text string
	// Rebuild is set when existing documents do not follow the current
	// definition until `projector rebuild VIEW`; unset for a field only
	// added (existing documents lack it) and a sink removed (its store
	// keeps the documents it had).
	Rebuild bool
}

// Change lists what differs for one view; empty when nothing does.
type Change struct {
	View     string
	Findings []Finding
}

// NeedsRebuild reports whether a finding needs a rebuild.
func (c Change) NeedsRebuild() bool {
	return slices.ContainsFunc(c.Findings, func(f Finding) bool { return f.Rebuild })
}

// Texts lists the findings' texts, those needing a rebuild or the others.
func (c Change) Texts(rebuild bool) []string {
	var out []string
	for _, f := range c.Findings {
		if f.Rebuild == rebuild {
			out = append(out, f.Text)
		}
	}
	return out
}

// Within reports whether every finding concerns one of stores: a rebuild
// of those stores makes the view's documents follow the current
// definition.
func (c Change) Within(stores []string) bool {
	for _, f := range c.Findings {
		if f.Store == "" || !slices.Contains(stores, f.Store) {
			return false
		}
	}
	return true
}

// Diff compares the recorded definition of a view with its current one.
func Diff(view string, recorded, current Definition) Change {
	c := Change{View: view}
	add := func(store string, rebuild bool, format string, args ...any) {
		c.Findings = append(c.Findings, Finding{Store: store, Text: fmt.Sprintf(format, args...), Rebuild: rebuild})
	}
	if recorded.From != current.From {
		add("", true, "from: %s (was %s)", current.From, recorded.From)
	}
	if !slices.Equal(recorded.ID, current.ID) {
		add("", true, "id: %s (was %s)", list(current.ID), list(recorded.ID))
	}
	if recorded.Where != current.Where {
		add("", true, "where: %s (was %s)", quote(current.Where), quote(recorded.Where))
	}
	if !slices.Equal(recorded.GroupBy, current.GroupBy) {
		add("", true, "group_by: %s (was %s)", list(current.GroupBy), list(recorded.GroupBy))
	}
	added, removed, changed := diffFields(recorded.Fields, current.Fields)
	if len(removed) > 0 {
		add("", true, "fields removed: %s", strings.Join(removed, ", "))
	}
	if len(changed) > 0 {
		add("", true, "fields changed: %s", strings.Join(changed, ", "))
	}
	if len(added) > 0 {
		add("", false, "fields added: %s (existing documents lack them until a rebuild)", strings.Join(added, ", "))
	}
	if retyped := diffReads(recorded.Reads, current.Reads); len(retyped) > 0 {
		add("", true, "source columns retyped: %s", strings.Join(retyped, ", "))
	}
	diffPostgres(recorded.Sinks.Postgres, current.Sinks.Postgres, add)
	diffRedis(recorded.Sinks.Redis, current.Sinks.Redis, add)
	diffElasticsearch(recorded.Sinks.Elasticsearch, current.Sinks.Elasticsearch, add)
	return c
}

type adder func(store string, rebuild bool, format string, args ...any)

// diffFields compares top-level fields by name; their order does not
// change a document. A changed join says so.
func diffFields(old, cur []Field) (added, removed, changed []string) {
	byName := make(map[string]Field, len(old))
	for _, f := range old {
		byName[f.Name] = f
	}
	for _, f := range cur {
		o, ok := byName[f.Name]
		switch {
		case !ok:
			added = append(added, f.Name)
		case !sameJSON(o, f):
			name := f.Name
			if f.Join != nil || o.Join != nil {
				name += " (join)"
			}
			changed = append(changed, name)
		}
		delete(byName, f.Name)
	}
	for _, f := range old {
		if _, ok := byName[f.Name]; ok {
			removed = append(removed, f.Name)
		}
	}
	return added, removed, changed
}

// diffReads lists the source columns read before and now whose declared
// type changed: decoded otherwise (projector.DecodeAlike), not only
// spelled otherwise (numeric(10) is numeric(10,0), timestamptz is
// timestamptz(6)). A column recorded without a type (by an earlier
// version, or not read then) tells nothing: one newly read shows as a
// field.
func diffReads(old, cur map[string]string) []string {
	var out []string
	for _, col := range slices.Sorted(maps.Keys(cur)) {
		if was, ok := old[col]; ok && !projector.DecodeAlike(was, cur[col]) {
			out = append(out, fmt.Sprintf("%s %s (was %s)", col, cur[col], was))
		}
	}
	return out
}

func diffPostgres(old, cur *Postgres, add adder) {
	switch {
	case old == nil && cur == nil:
		return
	case old == nil:
		add(StorePostgres, true, "postgres sink added (table %s.%s holds no existing document)", cur.Schema, cur.Table)
		return
	case cur == nil:
		add(StorePostgres, false, "postgres sink removed (table %s.%s keeps the documents it had)", old.Schema, old.Table)
		return
	}
	if old.Schema != cur.Schema || old.Table != cur.Table {
		add(StorePostgres, true, "postgres table: %s.%s (was %s.%s)", cur.Schema, cur.Table, old.Schema, old.Table)
	}
	if !slices.Equal(old.Fields, cur.Fields) {
		// Indexes are built at start: they need nothing.
		add(StorePostgres, true, "postgres fields: %s (was %s)", list(cur.Fields), list(old.Fields))
	}
}

func diffRedis(old, cur *Redis, add adder) {
	switch {
	case old == nil && cur == nil:
		return
	case old == nil:
		add(StoreRedis, true, "redis sink added (no existing document has a key)")
		return
	case cur == nil:
		add(StoreRedis, false, "redis sink removed (keys %s keep the documents they had)", old.Key)
		return
	}
	if old.Key != cur.Key {
		add(StoreRedis, true, "redis key: %s (was %s; untouched documents are not found under it)", cur.Key, old.Key)
	}
	if old.Format != cur.Format {
		add(StoreRedis, true, "redis format: %s (was %s)", cur.Format, old.Format)
	}
	if old.TTL != cur.TTL {
		add(StoreRedis, true, "redis ttl: %s (was %s)", orNone(cur.TTL), orNone(old.TTL))
	}
	if !slices.Equal(old.Fields, cur.Fields) {
		add(StoreRedis, true, "redis fields: %s (was %s)", list(cur.Fields), list(old.Fields))
	}
	if !slices.Equal(old.Indexes, cur.Indexes) {
		add(StoreRedis, true, "redis indexes: %s (was %s)", list(cur.Indexes), list(old.Indexes))
	}
}

func diffElasticsearch(old, cur *Elasticsearch, add adder) {
	switch {
	case old == nil && cur == nil:
		return
	case old == nil:
		add(StoreElasticsearch, true, "elasticsearch sink added (index %s holds no existing document)", cur.Index)
		return
	case cur == nil:
		add(StoreElasticsearch, false, "elasticsearch sink removed (index %s keeps the documents it had)", old.Index)
		return
	}
	if old.Index != cur.Index {
		add(StoreElasticsearch, true, "elasticsearch index: %s (was %s)", cur.Index, old.Index)
	}
	if !sameJSON(old.Mappings, cur.Mappings) {
		add(StoreElasticsearch, true, "elasticsearch mappings")
	}
}

// sameJSON compares by encoding: a recorded value was decoded from JSON
// (numbers as float64), the current one from YAML.
func sameJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

func list(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return "[" + strings.Join(s, ", ") + "]"
}

func quote(s string) string {
	if s == "" {
		return "none"
	}
	return fmt.Sprintf("%q", s)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
