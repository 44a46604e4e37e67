// Package definition describes a view's definition canonically — its
// fields with their expressions, types and joins, its filter, grouping and
// id, and the settings of each sink whose store is configured — as a stable
// JSON with a fingerprint. The registry records the description its served
// documents were computed with (at the view's first deployment and at each
// rebuild's swap); Diff tells, at start and in `projector validate`, what
// changed since in a way existing documents do not follow.
package definition

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/projector"
)

// Definition is the canonical description of one view.
type Definition struct {
	From    string   `json:"from"`
	ID      []string `json:"id"`
	Where   string   `json:"where,omitempty"`
	GroupBy []string `json:"group_by,omitempty"`
	Fields  []Field  `json:"fields"`
	// Reads is the declared type of each source column the view reads,
	// by "source.column" (projector.ReadTypes): a column retyped is
	// decoded anew, which documents computed before do not follow, though
	// nothing else of the view changed (one read only in an expression).
	// Definitions recorded by earlier versions have none.
	Reads map[string]string `json:"reads,omitempty"`
	Sinks Sinks             `json:"sinks"`
}

// Field is one field of a document or of a joined object.
type Field struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"` // column, expr, one, many, agg
	Type   string `json:"type"`
	Column string `json:"column,omitempty"`
	Expr   string `json:"expr,omitempty"`
	Join   *Join  `json:"join,omitempty"`
	Agg    *Agg   `json:"agg,omitempty"`
}

// Join is how a joined field finds its rows.
type Join struct {
	Source  string      `json:"source"`
	On      [][2]string `json:"on"` // joined column, enclosing column
	Where   string      `json:"where,omitempty"`
	OrderBy []string    `json:"order_by,omitempty"` // "-col" descending
	Limit   int         `json:"limit,omitempty"`
	Fields  []Field     `json:"fields,omitempty"`
}

// Agg is an aggregate field.
type Agg struct {
	Func   string `json:"func"`
	Column string `json:"column,omitempty"`
	Array  string `json:"array,omitempty"`
	Where  string `json:"where,omitempty"`
}

// Sinks are the settings of the view's sinks whose store is configured.
type Sinks struct {
	Postgres      *Postgres      `json:"postgres,omitempty"`
	Redis         *Redis         `json:"redis,omitempty"`
	Elasticsearch *Elasticsearch `json:"elasticsearch,omitempty"`
}

// Postgres is a PostgreSQL sink.
type Postgres struct {
	Schema  string   `json:"schema"`
	Table   string   `json:"table"`
	Fields  []string `json:"fields,omitempty"`
	Indexes []string `json:"indexes,omitempty"` // "a,b" or "unique a,b"
}

// Redis is a Redis sink.
type Redis struct {
	Key     string   `json:"key"`
	Format  string   `json:"format"`
	TTL     string   `json:"ttl,omitempty"`
	Fields  []string `json:"fields,omitempty"`
	Indexes []string `json:"indexes,omitempty"` // "key by score"
}

// Elasticsearch is an Elasticsearch sink.
type Elasticsearch struct {
	Index    string         `json:"index"`
	Mappings map[string]any `json:"mappings,omitempty"`
}

// Of describes view v of a configuration; cfg says which stores are
// configured (a sink whose store has no URL writes nothing).
func Of(cfg *config.Config, v *projections.View) Definition {
	d := Definition{From: v.Root.Name, ID: v.ID, GroupBy: v.GroupBy, Where: exprText(v.Where), Fields: fields(v.Fields), Reads: projector.ReadTypes(v)}
	if len(d.Reads) == 0 {
		d.Reads = nil
	}
	if ps := v.Sinks.Postgres; ps != nil {
		p := &Postgres{Schema: ps.Schema, Table: ps.Table, Fields: ps.Fields}
		for _, ix := range ps.Indexes {
			s := fmt.Sprint(ix.Fields)
			if ix.Unique {
				s = "unique " + s
			}
			p.Indexes = append(p.Indexes, s)
		}
		d.Sinks.Postgres = p
	}
	if rs := v.Sinks.Redis; rs != nil && cfg.Stores.Redis.URL != "" {
		r := &Redis{Key: rs.Key, Format: rs.Format, Fields: rs.Fields}
		if rs.TTL != 0 {
			r.TTL = time.Duration(rs.TTL).String()
		}
		for _, ix := range rs.Indexes {
			r.Indexes = append(r.Indexes, ix.Key+" by "+ix.Score)
		}
		d.Sinks.Redis = r
	}
	if es := v.Sinks.Elasticsearch; es != nil && cfg.Stores.Elasticsearch.URL != "" {
		e := &Elasticsearch{Index: es.Index}
		if len(es.Mappings) > 0 {
			e.Mappings = make(map[string]any, len(es.Mappings))
			for _, m := range es.Mappings {
				e.Mappings[m.Key] = m.Value
			}
		}
		d.Sinks.Elasticsearch = e
	}
	return d
}

// All describes every view of a plan, by name.
func All(cfg *config.Config, plan *projections.Plan) map[string]Definition {
	out := make(map[string]Definition, len(plan.Views))
	for _, v := range plan.Views {
		out[v.Name] = Of(cfg, v)
	}
	return out
}

// JSON is the stable encoding of d (struct fields in a fixed order, map
// keys sorted), and Fingerprint its sha256.
func (d Definition) JSON() []byte {
	b, err := json.Marshal(d)
	if err != nil {
		// Only strings, lists and decoded YAML values: cannot fail.
		panic(fmt.Sprintf("definition: encode: %v", err))
	}
	return b
}

// Fingerprint is the hex sha256 of d's JSON.
func (d Definition) Fingerprint() string {
	sum := sha256.Sum256(d.JSON())
	return hex.EncodeToString(sum[:])
}

// Parse decodes a recorded definition.
func Parse(b []byte) (Definition, error) {
	var d Definition
	if err := json.Unmarshal(b, &d); err != nil {
		return Definition{}, fmt.Errorf("definition: decode: %w", err)
	}
	return d, nil
}

func exprText(e *projections.Expr) string {
	if e == nil {
		return ""
	}
	return e.Source
}

var kinds = map[projections.Kind]string{
	projections.KindColumn: "column", projections.KindExpr: "expr", projections.KindOne: "one",
	projections.KindMany: "many", projections.KindAgg: "agg",
}

var aggs = map[projections.AggFunc]string{
	projections.AggCount: "count", projections.AggSum: "sum", projections.AggMin: "min",
	projections.AggMax: "max", projections.AggAvg: "avg",
}

func fields(fs []*projections.Field) []Field {
	out := make([]Field, 0, len(fs))
	for _, f := range fs {
		d := Field{Name: f.Name, Kind: kinds[f.Kind], Type: f.Type.String(), Column: f.Column, Expr: exprText(f.Expr)}
		if j := f.Join; j != nil {
			dj := &Join{Where: exprText(j.Where), Fields: fields(j.Fields), Limit: j.Limit}
			if j.Source != nil {
				dj.Source = j.Source.Name
			}
			for _, p := range j.On {
				dj.On = append(dj.On, [2]string{p.Joined, p.Outer})
			}
			for _, o := range j.OrderBy {
				c := o.Column
				if o.Desc {
					c = "-" + c
				}
				dj.OrderBy = append(dj.OrderBy, c)
			}
			if len(dj.Fields) == 0 {
				dj.Fields = nil
			}
			d.Join = dj
		}
		if a := f.Agg; a != nil {
			d.Agg = &Agg{Func: aggs[a.Func], Column: a.Column, Array: a.Array, Where: exprText(a.Where)}
		}
		out = append(out, d)
	}
	return out
}

// DocumentsFingerprint is the fingerprint of the documents d computes: its
// fields, filter, grouping and id, not its sinks (where and how each store
// holds them, or whether it is configured). Instances writing the same
// documents can run beside a rebuild whatever their sinks say: a store an
// instance does not configure it does not write, and the keys of an old
// Redis key template are purged. (The PostgreSQL table matters, but
// instances of earlier versions send this value: see PostgresTable. So
// do the declared types of the columns read, which the value of those
// versions leaves out: see ReadsText.)
func (d Definition) DocumentsFingerprint() string {
	docs := d
	docs.Sinks = Sinks{}
	docs.Reads = nil
	return docs.Fingerprint()
}

// PostgresTable is the schema-qualified table d's documents go to in
// PostgreSQL, with the fields its sink keeps when it names them ("" without
// a PostgreSQL sink): instances writing another table, or other columns,
// beside a rebuild would write a generation no one creates, or columns it
// lacks, and fail for good once it is swapped in.
func (d Definition) PostgresTable() string {
	p := d.Sinks.Postgres
	if p == nil {
		return ""
	}
	t := cmp.Or(p.Schema, "public") + "." + p.Table
	if len(p.Fields) > 0 {
		t += " (" + strings.Join(slices.Sorted(slices.Values(p.Fields)), ", ") + ")"
	}
	return t
}

// ReadsText is d's Reads in a stable text, "{}" without any, which every
// heartbeat carries: an instance decoding a column read by another
// declared type than a rebuild's file writes documents and state rows by
// that type into the rebuild's generation (a label "2" where the file
// gives "2.00"), which its verification need not see and its swap records
// as held by the file's type.
func (d Definition) ReadsText() string {
	if len(d.Reads) == 0 {
		return "{}"
	}
	b, err := json.Marshal(d.Reads) // map keys sorted
	if err != nil {
		panic(fmt.Sprintf("definition: encode: %v", err)) // strings only: cannot fail
	}
	return string(b)
}

// Retyped names each source column that reads, another definition's
// ReadsText, declares otherwise than d ("items.qty bigint, here
// numeric(10,2)"), in the columns' order; "" when they agree, or reads
// does not decode.
func (d Definition) Retyped(reads string) string {
	var other map[string]string
	if json.Unmarshal([]byte(reads), &other) != nil {
		return ""
	}
	cols := slices.Collect(maps.Keys(other))
	for col := range d.Reads {
		if _, ok := other[col]; !ok {
			cols = append(cols, col)
		}
	}
	slices.Sort(cols)
	var out []string
	for _, col := range cols {
		if t, here := other[col], d.Reads[col]; t != here {
			out = append(out, fmt.Sprintf("%s %s, here %s", col, cmp.Or(t, "not read"), cmp.Or(here, "not read")))
		}
	}
	return strings.Join(out, "; ")
}
