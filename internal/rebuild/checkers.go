package rebuild

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	goredis "github.com/redis/go-redis/v9"

	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/sinks"
	"github.com/projectorhq/projector/sinks/elasticsearch"
	"github.com/projectorhq/projector/sinks/postgres"
)

// pgChecker compares documents with the rows of a generation's table. The
// expected rows go through jsonb_to_record with the table's column types,
// as the sink's upsert does, so PostgreSQL types both sides alike. A row
// stored at a revision higher than the document's is newer and right; not
// so for a document never computed (revision 0): its first computation may
// be in flight, or the row is one no computation wrote, so it stays a
// suspect until a later check sees the revision committed.
type pgChecker struct {
	env   *Env
	view  *postgres.View
	isKey map[string]bool
	sql   string
}

// newPGChecker: byRev takes a row stored at the document's revision as
// right too, whatever its content (see checkers).
func newPGChecker(env *Env, view string, gen int, byRev bool) (*pgChecker, error) {
	v := pgView(env.Plan, view)
	if v == nil {
		return nil, fmt.Errorf("view %s has no postgres sink: %w", view, ErrUnknownView)
	}
	c := &pgChecker{env: env, view: v, isKey: map[string]bool{}}
	defs := make([]string, 0, len(v.Columns)+2)
	sel := make([]string, 0, len(v.Columns)+2)
	for _, col := range v.Columns {
		// As the sink reads a row: bytea from its base64, and so on.
		def, expr := postgres.RecordColumn(col)
		defs = append(defs, def)
		sel = append(sel, expr+" AS "+quoteIdent(col.Name))
	}
	defs = append(defs, "_rev bigint", "_deleted boolean")
	sel = append(sel, "r._rev", "r._deleted")
	on := make([]string, 0, len(v.ID))
	for _, id := range v.ID {
		c.isKey[id] = true
		on = append(on, "t."+quoteIdent(id)+" = e."+quoteIdent(id))
	}
	found := "t." + quoteIdent(v.ID[0]) + " IS NOT NULL"
	same := contentEqual(v.Columns)
	newer := ">"
	if byRev {
		newer = ">="
	}
	// The ordinal's name is one no view column can take (a field name is
	// letters, digits and _): a field named n would make e.n ambiguous.
	c.sql = `WITH e AS (
		SELECT a."#n", ` + strings.Join(sel, ", ") + ` FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS a(j, "#n"),
			jsonb_to_record(a.j) AS r(` + strings.Join(defs, ", ") + `))
	SELECT e."#n" - 1, CASE
		WHEN NOT e._deleted AND NOT (` + found + `) THEN 'missing'
		WHEN NOT e._deleted AND t._deleted THEN 'deleted, the state has it'
		WHEN NOT e._deleted THEN 'content differs (stored rev ' || t._rev || ')'
		ELSE 'present, the state has no such document' END
	FROM e LEFT JOIN ` + pgTable(v, gen).Sanitize() + ` t ON ` + strings.Join(on, " AND ") + `
	WHERE NOT (coalesce(e._rev > 0 AND t._rev ` + newer + ` e._rev, false)
		OR (e._deleted AND (NOT (` + found + `) OR t._deleted))
		OR (NOT e._deleted AND ` + found + ` AND NOT t._deleted AND ` + same + `))`
	return c, nil
}

// contentEqual compares the columns as jsonb (json has no equality, and
// jsonb compares numbers by value), in groups within the 100 arguments a
// function takes.
func contentEqual(cols []postgres.Column) string {
	var parts []string
	for start := 0; start < len(cols); start += 90 {
		var e, t []string
		for _, col := range cols[start:min(start+90, len(cols))] {
			e = append(e, "e."+quoteIdent(col.Name))
			t = append(t, "t."+quoteIdent(col.Name))
		}
		parts = append(parts, "jsonb_build_array("+strings.Join(e, ", ")+") = jsonb_build_array("+strings.Join(t, ", ")+")")
	}
	return "(" + strings.Join(parts, " AND ") + ")"
}

func quoteIdent(s string) string { return pgx.Identifier{s}.Sanitize() }

func (c *pgChecker) store() string                 { return registry.StorePostgres }
func (c *pgChecker) prepare(context.Context) error { return nil }

func (c *pgChecker) check(ctx context.Context, docs []sinks.Doc) (map[int]string, error) {
	rows := make([]map[string]any, len(docs))
	for i := range docs {
		d := &docs[i]
		row := make(map[string]any, len(c.view.Columns)+2)
		for _, col := range c.view.Columns {
			switch {
			case c.isKey[col.Name] && d.Key[col.Name] != nil:
				row[col.Name] = d.Key[col.Name]
			case !d.Deleted:
				row[col.Name] = d.Fields[col.Name]
			}
		}
		row["_rev"], row["_deleted"] = d.Rev, d.Deleted
		rows[i] = row
	}
	input, err := json.Marshal(rows)
	if err != nil {
		return nil, fmt.Errorf("verify %s: encode: %w", c.view.Name, err)
	}
	res, err := c.env.Pool.Query(ctx, c.sql, input)
	if err != nil {
		return nil, fmt.Errorf("verify %s in postgres: %w", c.view.Name, err)
	}
	defer res.Close()
	bad := map[int]string{}
	for res.Next() {
		var i int
		var why string
		if err := res.Scan(&i, &why); err != nil {
			return nil, err
		}
		bad[i] = why
	}
	return bad, res.Err()
}

// redisChecker checks that the live keys of documents exist, and those of
// deleted documents do not, and that a recomputed document's value is the
// one it was recomputed as, unless written again since (see
// redis.Sink.Differ). A view with a TTL is not checked: its keys expire by
// design.
type redisChecker struct {
	env   *Env
	view  string
	byRev bool // see checkers
}

func newRedisChecker(env *Env, view string, byRev bool) *redisChecker {
	for _, v := range stack.RedisViews(env.Plan) {
		if v.Name == view && v.TTL == 0 {
			return &redisChecker{env: env, view: view, byRev: byRev}
		}
	}
	return nil
}

func (c *redisChecker) store() string                 { return registry.StoreRedis }
func (c *redisChecker) prepare(context.Context) error { return nil }

func (c *redisChecker) check(ctx context.Context, docs []sinks.Doc) (map[int]string, error) {
	if c.byRev {
		return c.checkRevs(ctx, docs)
	}
	cmds := make([]*goredis.IntCmd, len(docs))
	bad := map[int]string{}
	_, err := c.env.Redis.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i := range docs {
			key, err := c.env.live.Key(c.view, docs[i].Key)
			if err != nil {
				bad[i] = err.Error()
				continue
			}
			cmds[i] = p.Exists(ctx, key)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("verify %s in redis: %w", c.view, err)
	}
	for i, cmd := range cmds {
		if cmd == nil {
			continue
		}
		exists := cmd.Val() > 0
		switch {
		case !docs[i].Deleted && !exists && c.env.live.Keyed(c.view, &docs[i]):
			bad[i] = "key missing"
		case docs[i].Deleted && exists:
			bad[i] = "key present, the state has no such document"
		}
	}
	// A recomputed document (one with fields) must hold what it was
	// recomputed as, unless written again since.
	differ, err := c.env.live.Differ(ctx, docs)
	if err != nil {
		return nil, fmt.Errorf("verify %s in redis: %w", c.view, err)
	}
	for i, why := range differ {
		if _, ok := bad[i]; !ok {
			bad[i] = why
		}
	}
	return bad, nil
}

// checkRevs takes a document stored at its revision or a later one as
// right, whatever its content (see checkers); stored at its revision, its
// key must be there if it is live and keyed, and gone if it is deleted, as
// check asks (a later revision may have done either).
func (c *redisChecker) checkRevs(ctx context.Context, docs []sinks.Doc) (map[int]string, error) {
	revs, err := c.env.live.StoredRevs(ctx, docs)
	if err != nil {
		return nil, fmt.Errorf("verify %s in redis: %w", c.view, err)
	}
	bad := map[int]string{}
	exists := map[int]*goredis.IntCmd{}
	_, err = c.env.Redis.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i := range docs {
			switch stored, ok := revs[i]; {
			case ok && docs[i].Rev > 0 && stored == docs[i].Rev:
				key, err := c.env.live.Key(c.view, docs[i].Key)
				if err != nil {
					bad[i] = err.Error()
					continue
				}
				exists[i] = p.Exists(ctx, key)
			case ok && docs[i].Rev > 0 && stored > docs[i].Rev:
			case !ok:
				bad[i] = "no revision stored"
			default:
				bad[i] = fmt.Sprintf("stored at revision %d, the state's is %d", stored, docs[i].Rev)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("verify %s in redis: %w", c.view, err)
	}
	for i, cmd := range exists {
		switch there := cmd.Val() > 0; {
		case !docs[i].Deleted && !there && c.env.live.Keyed(c.view, &docs[i]):
			bad[i] = "key missing at the state's revision"
		case docs[i].Deleted && there:
			bad[i] = "key present, deleted at the state's revision"
		}
	}
	return bad, nil
}

// esChecker checks that a generation's index holds the live documents and
// no others, as of a refresh before each round; a recomputed document
// (one with fields: the snapshot verification's presence pass checks the
// new table's rows, which carry none) must be there with the content it
// was recomputed with, as the PostgreSQL checker compares it: by JSON
// value, unless stored at a higher revision than the recompute's (newer,
// so right).
type esChecker struct {
	es    *elasticsearch.Sink
	index string
	byRev bool // see checkers
}

func (c *esChecker) store() string { return registry.StoreElasticsearch }

func (c *esChecker) prepare(ctx context.Context) error { return c.es.Refresh(ctx, c.index) }

func (c *esChecker) check(ctx context.Context, docs []sinks.Doc) (map[int]string, error) {
	ids := make([]string, len(docs))
	for i := range docs {
		ids[i] = docs[i].ID
	}
	stored, err := c.es.Stored(ctx, c.index, ids)
	if err != nil {
		return nil, err
	}
	bad := map[int]string{}
	for i := range docs {
		d := &docs[i]
		s, found := stored[d.ID]
		live := found && s.Live
		switch {
		case c.byRev && found && d.Rev > 0 && s.Version >= d.Rev:
			// Stored at its revision: right, whatever the clock gave.
		case !d.Deleted && !live:
			bad[i] = "document missing"
		case d.Deleted && live:
			bad[i] = "document present, the state has no such document"
		case d.Deleted || d.Fields == nil || d.Rev > 0 && s.Version > d.Rev:
			// Gone as it should, a row of the presence pass, or newer.
		default:
			want, err := json.Marshal(d.Fields)
			if err != nil {
				return nil, fmt.Errorf("verify %s in elasticsearch: encode: %w", d.View, err)
			}
			if !sinks.SameJSON(want, s.Source) {
				bad[i] = fmt.Sprintf("content differs (stored rev %d)", s.Version)
			}
		}
	}
	return bad, nil
}

// textIDTypes are the column types whose text form is the one the state's
// ->> gives, so that a table's ids compare with the state's as text.
var textIDTypes = map[string]bool{
	"bigint": true, "int8": true, "integer": true, "int": true, "int4": true, "smallint": true, "int2": true,
	"text": true, "varchar": true, "character varying": true, "uuid": true, "boolean": true, "bool": true,
}

// pgExtras finds the live rows of the new table whose document the state
// has no root row for; they come back as suspects, with their keys.
func (r *run) pgExtras(ctx context.Context) (map[string]map[string]any, error) {
	v := pgView(r.env.Plan, r.gen.View)
	pv, err := r.env.View(r.gen.View)
	if err != nil {
		return nil, err
	}
	types := map[string]string{}
	for _, c := range v.Columns {
		types[c.Name] = strings.ToLower(c.Type)
	}
	var tcols, scols []string
	for i, id := range pv.ID {
		if !textIDTypes[types[id]] {
			r.opts.Log.Info("verify: extra rows not looked for: an id column's text form may differ from the state's", "view", v.Name, "column", id, "type", types[id])
			return nil, nil
		}
		tcols = append(tcols, "t."+quoteIdent(id)+"::text")
		scols = append(scols, "s.data->>"+quoteLiteral(pv.IDColumns[i]))
	}
	match := tcols[0] + " = " + scols[0]
	if len(tcols) > 1 {
		match = "jsonb_build_array(" + strings.Join(tcols, ", ") + ") = jsonb_build_array(" + strings.Join(scols, ", ") + ")"
	}
	sql := `SELECT ` + strings.Join(tcols, ", ") + ` FROM ` + pgTable(v, r.gen.Number).Sanitize() + ` t
		WHERE NOT t._deleted AND NOT EXISTS (SELECT 1 FROM ` + r.stateTable(pv) + ` s WHERE NOT s.deleted AND ` + match + `)
		LIMIT ` + fmt.Sprint(maxSuspects+1)
	rows, err := r.env.Pool.Query(ctx, sql)
	if err != nil {
		return nil, fmt.Errorf("verify %s: look for extra rows: %w", v.Name, err)
	}
	defer rows.Close()
	out := map[string]map[string]any{}
	for rows.Next() {
		vals := make([]string, len(pv.ID))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		id, key := docKey(pv, vals)
		out[id] = key
	}
	return out, rows.Err()
}

// docKey is the canonical id and key of a document from the text of its id
// values, as the engine renders them: the text of one value, or a JSON
// array of the texts of several.
func docKey(v *projections.View, vals []string) (string, map[string]any) {
	key := make(map[string]any, len(vals))
	for i, f := range v.ID {
		key[f] = vals[i]
	}
	if len(vals) == 1 {
		return vals[0], key
	}
	b, _ := json.Marshal(vals)
	return string(b), key
}

func (r *run) stateTable(v *projections.View) string {
	return pgx.Identifier{r.env.Registry.Schema(), "state_" + v.Root.Name}.Sanitize()
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
