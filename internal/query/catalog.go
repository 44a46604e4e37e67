package query

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/sinks/elasticsearch"
)

// field is a declared field of a view document, as the query API sees it.
type field struct {
	Name string
	Type config.Type
	// Object holds the fields of an embedded one-to-one object (a join with
	// fields); nil for anything else.
	Object []*field
	Array  bool     // a one-to-many join: an array of objects
	Items  []*field // the fields of Array's objects
	// ES is how Elasticsearch indexes a top-level field: the mapping of the
	// view's index template, overrides included; nil when left to dynamic
	// mapping.
	ES map[string]any
}

// scalar reports whether the field holds one comparable value: what a
// filter can test and a list can sort by. JSON, arrays and bytes are not.
func (f *field) scalar() bool {
	if f.Object != nil || f.Array || f.Type.Array {
		return false
	}
	_, ok := castTypes[f.Type.Name]
	return ok
}

func (f *field) child(name string) *field {
	for _, c := range f.Object {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// castTypes maps the scalar types a request value may be compared with to
// the SQL type its text is cast to. The keys are config's canonical names,
// so only these constants ever reach a statement.
var castTypes = map[string]string{
	"smallint":         "smallint",
	"integer":          "integer",
	"bigint":           "bigint",
	"numeric":          "numeric", // without (p,s): a filter value is never rounded
	"real":             "real",
	"double precision": "double precision",
	"boolean":          "boolean",
	"text":             "text",
	"varchar":          "text",
	"uuid":             "uuid",
	"date":             "date",
	"time":             "time",
	"timestamp":        "timestamp",
	"timestamptz":      "timestamptz",
}

// view is a compiled view with what each of its stores needs to answer.
type view struct {
	Name    string
	Plan    *projections.View
	Fields  []*field
	byName  map[string]*field
	ID      []*field // the id fields, in the order of the canonical id
	Sources []string // every source the view reads: root first, then joins
	PG      *pgView
	Redis   *redisView
	ES      *esView
	pgFix   []*field // the top-level fields pgDoc rewrites (pgRewrites)
}

// pgView is the reader view of a view with a PostgreSQL sink.
type pgView struct {
	Reader  pgx.Identifier  // <schema>.<table>: the active generation without tombstones
	Columns map[string]bool // the fields stored as columns
	// Get selects one doc by its id values, bound as text ($1, $2, …).
	Get string
}

// redisView is how a view's docs are keyed and encoded in Redis.
type redisView struct {
	Key    string
	Format string
	TTL    time.Duration
	Fields []string
}

// whole says whether the Redis sink keeps every field of v's docs (the id
// fields, which its key gives back, aside).
func (r *redisView) whole(v *view) bool {
	if len(r.Fields) == 0 {
		return true
	}
	for _, f := range v.Fields {
		if !slices.Contains(r.Fields, f.Name) && !slices.Contains(v.ID, f) {
			return false
		}
	}
	return true
}

// esView is the alias of a view with an Elasticsearch sink.
type esView struct {
	Alias string
}

func (v *view) field(name string) *field { return v.byName[name] }

// catalog compiles every view of the plan. Stores whose URL is empty are
// left out: their sinks are disabled, so they hold nothing to read.
func catalog(cfg *config.Config, plan *projections.Plan) (map[string]*view, error) {
	esProps, err := esProperties(plan)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*view, len(plan.Views))
	for _, pv := range plan.Views {
		v := &view{Name: pv.Name, Plan: pv, byName: map[string]*field{}}
		for _, f := range pv.Fields {
			cf := compileField(f)
			cf.ES, _ = esProps[pv.Name][f.Name].(map[string]any)
			v.Fields = append(v.Fields, cf)
			v.byName[cf.Name] = cf
		}
		for _, id := range pv.ID {
			if f := v.byName[id]; f != nil {
				v.ID = append(v.ID, f)
			}
		}
		v.Sources = viewSources(pv)
		v.pgFix = pgRewrites(v.Fields)
		if ps := pv.Sinks.Postgres; ps != nil {
			pg := &pgView{Reader: pgx.Identifier{ps.Schema, ps.Table}, Columns: map[string]bool{}}
			for _, f := range v.Fields {
				if len(ps.Fields) == 0 || contains(ps.Fields, f.Name) || contains(pv.ID, f.Name) {
					pg.Columns[f.Name] = true
				}
			}
			conds := make([]string, len(v.ID))
			for i, f := range v.ID {
				conds[i] = "r." + ident(f.Name) + " = $" + strconv.Itoa(i+1) + "::text::" + castTypes[f.Type.Name]
			}
			// r.*, not r: a bare r would be a field named r, if the view has one.
			pg.Get = "SELECT to_jsonb(r.*) FROM " + pg.Reader.Sanitize() + " r WHERE " + strings.Join(conds, " AND ")
			v.PG = pg
		}
		if rs := pv.Sinks.Redis; rs != nil && cfg.Stores.Redis.URL != "" {
			v.Redis = &redisView{Key: rs.Key, Format: rs.Format, TTL: time.Duration(rs.TTL), Fields: rs.Fields}
		}
		if es := pv.Sinks.Elasticsearch; es != nil && cfg.Stores.Elasticsearch.URL != "" {
			v.ES = &esView{Alias: es.Index}
		}
		out[v.Name] = v
	}
	return out, nil
}

// esProperties is, per view with an Elasticsearch sink, the field mappings
// of its index template, built by the code the sink builds it with: a
// field an override maps as keyword is filtered as a keyword, not through
// the generated mapping's text.keyword, which then does not exist.
func esProperties(plan *projections.Plan) (map[string]map[string]any, error) {
	out := map[string]map[string]any{}
	for _, ev := range stack.ElasticsearchViews(plan) {
		props, err := elasticsearch.Properties(&ev)
		if err != nil {
			return nil, fmt.Errorf("view %s: %w", ev.Name, err)
		}
		out[ev.Name] = props
	}
	return out, nil
}

func compileField(f *projections.Field) *field {
	out := &field{Name: f.Name, Type: f.Type}
	switch {
	case f.Kind == projections.KindMany:
		out.Array = true
		for _, sub := range f.Join.Fields {
			out.Items = append(out.Items, compileField(sub))
		}
	case f.Kind == projections.KindOne && f.Join != nil && f.Column == "":
		out.Object = []*field{}
		for _, sub := range f.Join.Fields {
			out.Object = append(out.Object, compileField(sub))
		}
	}
	return out
}

// viewSources lists the sources a view reads, each once: a write to any of
// them may change its docs, so each counts for its lag.
func viewSources(v *projections.View) []string {
	var out []string
	seen := map[string]bool{}
	add := func(name string) {
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	add(v.Root.Name)
	var walk func(fs []*projections.Field)
	walk = func(fs []*projections.Field) {
		for _, f := range fs {
			if f.Join != nil {
				add(f.Join.Source.Name)
				walk(f.Join.Fields)
			}
		}
	}
	walk(v.Fields)
	return out
}

// resolve finds the field a dotted path names: a top-level field, or a
// field of an embedded object ("customer.id"). It returns nil when the
// path names nothing declared.
func (v *view) resolve(path string) *field {
	parts := strings.Split(path, ".")
	f := v.byName[parts[0]]
	for _, p := range parts[1:] {
		if f == nil || f.Object == nil {
			return nil
		}
		f = f.child(p)
	}
	return f
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

// Fields lists a view's top-level field names in declaration order.
func (s *Server) Fields(viewName string) ([]string, error) {
	v, err := s.view(viewName)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(v.Fields))
	for i, f := range v.Fields {
		out[i] = f.Name
	}
	return out, nil
}
