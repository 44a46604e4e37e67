package query

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ListResult is one page of a list.
type ListResult struct {
	Docs []json.RawMessage `json:"docs"`
	// NextCursor continues the list after the last doc; nil on the last page.
	NextCursor *string `json:"next_cursor"`
}

// sqlBuilder collects a statement's text and its parameters. Every value
// from a request is a parameter; the text holds only identifiers from the
// compiled plan (quoted) and constants of this package.
type sqlBuilder struct {
	args []any
}

func (b *sqlBuilder) bind(v any) string {
	b.args = append(b.args, v)
	return "$" + strconv.Itoa(len(b.args))
}

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// quoteLiteral quotes a name from the plan (a key inside a jsonb column) as
// a string constant: an expression index on (col->>'key') is matched only
// by a constant, not by a parameter. E” keeps backslashes literal whatever
// standard_conforming_strings says.
func quoteLiteral(s string) string {
	s = strings.ReplaceAll(s, "'", "''")
	if strings.Contains(s, `\`) {
		return `E'` + strings.ReplaceAll(s, `\`, `\\`) + `'`
	}
	return "'" + s + "'"
}

// column is the SQL for the value a filter tests, and the type to compare
// it as: a column, or a path into a jsonb column read as text with ->>.
func column(alias string, path []string, f *field) (expr, cast string) {
	cast = castTypes[f.Type.Name]
	if len(path) == 1 {
		return alias + "." + ident(path[0]), cast
	}
	var b strings.Builder
	b.WriteString("(" + alias + "." + ident(path[0]))
	for i, p := range path[1:] {
		if i == len(path)-2 {
			b.WriteString("->>")
		} else {
			b.WriteString("->")
		}
		b.WriteString(quoteLiteral(p))
	}
	b.WriteString(")")
	if cast == "text" {
		return b.String(), cast // matches an index on (col->>'key') as is
	}
	return "(" + b.String() + ")::" + cast, cast
}

// where renders the filters, ANDed.
func (b *sqlBuilder) where(alias string, filters []filter) []string {
	conds := make([]string, 0, len(filters))
	for _, f := range filters {
		expr, cast := column(alias, f.Path, f.Field)
		switch f.Op {
		case "in":
			conds = append(conds, expr+" = ANY("+b.bind(f.Values)+"::text[]::"+cast+"[])")
		default:
			op := map[string]string{"eq": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[f.Op]
			conds = append(conds, expr+" "+op+" "+b.bind(f.Values[0])+"::text::"+cast)
		}
	}
	return conds
}

// keyset is the ordering of a list: the sort field (when not the id), then
// the id fields. Only the sort field may be NULL; PostgreSQL's default
// places NULLs last ascending and first descending, which is also what a
// btree index gives in either direction.
type keyset struct {
	fields   []*field
	nullable bool // fields[0] may be NULL
	desc     bool
}

func newKeyset(v *view, s sortSpec) keyset {
	k := keyset{desc: s.Desc}
	if s.Field != nil {
		k.fields = append(k.fields, s.Field)
		k.nullable = !contains(v.Plan.ID, s.Field.Name)
	}
	for _, id := range v.ID {
		if id != s.Field {
			k.fields = append(k.fields, id)
		}
	}
	return k
}

func (k keyset) cols(alias string, from int) []string {
	out := make([]string, 0, len(k.fields))
	for _, f := range k.fields[from:] {
		out = append(out, alias+"."+ident(f.Name))
	}
	return out
}

func (k keyset) orderBy(alias string, from int) string {
	dir := " ASC"
	if k.desc {
		dir = " DESC"
	}
	cols := k.cols(alias, from)
	for i := range cols {
		cols[i] += dir
	}
	return strings.Join(cols, ", ")
}

// after is the row comparison "the key columns come after these values",
// from the from-th key on; values bound as text and cast to each type.
func (b *sqlBuilder) after(alias string, k keyset, from int, vals []*string) string {
	params := make([]string, 0, len(vals))
	for i, f := range k.fields[from:] {
		params = append(params, b.bind(*vals[i])+"::text::"+castTypes[f.Type.Name])
	}
	op := " > "
	if k.desc {
		op = " < "
	}
	return "(" + strings.Join(k.cols(alias, from), ", ") + ")" + op + "(" + strings.Join(params, ", ") + ")"
}

// listSQL builds the statement for one page: limit+1 rows, so that the
// extra one tells whether there is a next page. Each row is the document
// as jsonb and its key values as text for the cursor.
//
// With a cursor on a nullable sort field, the rows after it are the union
// of two ranges (non-NULL values after it, and the NULLs), each a plain
// index range, instead of one OR that no index can serve.
func listSQL(v *view, filters []filter, k keyset, cur []*string, limit int) (string, []any) {
	b := &sqlBuilder{}
	reader := v.PG.Reader.Sanitize()
	conds := b.where("r", filters)
	lim := b.bind(limit + 1)
	sel := func(extra ...string) string {
		all := append(append([]string{}, conds...), extra...)
		w := ""
		if len(all) > 0 {
			w = " WHERE " + strings.Join(all, " AND ")
		}
		return "SELECT r.* FROM " + reader + " r" + w
	}
	var inner string
	switch {
	case cur == nil:
		inner = sel() + " ORDER BY " + k.orderBy("r", 0) + " LIMIT " + lim
	case !k.nullable:
		inner = sel(b.after("r", k, 0, cur)) + " ORDER BY " + k.orderBy("r", 0) + " LIMIT " + lim
	case cur[0] == nil && !k.desc:
		// Ascending, inside the trailing NULLs: only NULLs with a later id.
		inner = sel("r."+ident(k.fields[0].Name)+" IS NULL", b.after("r", k, 1, cur[1:])) +
			" ORDER BY " + k.orderBy("r", 1) + " LIMIT " + lim
	case cur[0] == nil && k.desc:
		// Descending, inside the leading NULLs: the later NULLs, then every
		// non-NULL value.
		inner = "(" + sel("r."+ident(k.fields[0].Name)+" IS NULL", b.after("r", k, 1, cur[1:])) +
			" ORDER BY " + k.orderBy("r", 1) + " LIMIT " + lim + ") UNION ALL (" +
			sel("r."+ident(k.fields[0].Name)+" IS NOT NULL") + " ORDER BY " + k.orderBy("r", 0) + " LIMIT " + lim + ")"
	case !k.desc:
		// Ascending, among the values: the later values, then the NULLs.
		inner = "(" + sel(b.after("r", k, 0, cur)) + " ORDER BY " + k.orderBy("r", 0) + " LIMIT " + lim + ") UNION ALL (" +
			sel("r."+ident(k.fields[0].Name)+" IS NULL") + " ORDER BY " + k.orderBy("r", 1) + " LIMIT " + lim + ")"
	default:
		// Descending, among the values: NULLs came first, so only values.
		inner = sel(b.after("r", k, 0, cur)) + " ORDER BY " + k.orderBy("r", 0) + " LIMIT " + lim
	}
	keys := k.cols("p", 0)
	for i := range keys {
		keys[i] += "::text"
	}
	// p.*, not p: a bare p would be a field named p, if the view has one.
	sql := "SELECT to_jsonb(p.*), " + strings.Join(keys, ", ") + " FROM (" + inner + ") p ORDER BY " + k.orderBy("p", 0) + " LIMIT " + lim
	return sql, b.args
}

// List returns a page of a view's documents from its PostgreSQL reader
// view. params are the query parameters of GET /v1/views/{view}/docs:
// filters, sort, limit and cursor (min_position and wait are the caller's).
func (s *Server) List(ctx context.Context, viewName string, params url.Values) (*ListResult, error) {
	req, err := s.prepareList(viewName, params)
	if err != nil {
		return nil, err
	}
	return s.list(ctx, req)
}

// listRequest is a list checked against its view, its cursor opened,
// ready to read: what the request says is wrong is found before any
// read-your-writes wait.
type listRequest struct {
	v       *view
	filters []filter
	k       keyset
	qh      string  // queryHash
	cur     *cursor // nil on the first page
	limit   int
}

func (s *Server) prepareList(viewName string, params url.Values) (*listRequest, error) {
	v, err := s.view(viewName)
	if err != nil {
		return nil, err
	}
	if v.PG == nil {
		return nil, notFound("view %s has no PostgreSQL sink: its docs cannot be listed", v.Name)
	}
	if err := allowParams(params, "sort", "limit", "cursor", "min_position", "wait"); err != nil {
		return nil, err
	}
	filters, err := parseFilters(v, params)
	if err != nil {
		return nil, err
	}
	for _, f := range filters {
		if !v.PG.Columns[f.Path[0]] {
			return nil, badRequest("bad_field", f.Param, "field %q is not stored in PostgreSQL (the sink's fields leave it out)", f.Path[0])
		}
	}
	sort, err := parseSort(v, params)
	if err != nil {
		return nil, err
	}
	if sort.Field != nil && !v.PG.Columns[sort.Field.Name] {
		return nil, badRequest("bad_sort", "sort", "field %q is not stored in PostgreSQL", sort.Field.Name)
	}
	limit, err := parseInt(params, "limit", defaultLimit, 1, maxLimit)
	if err != nil {
		return nil, err
	}
	req := &listRequest{v: v, filters: filters, k: newKeyset(v, sort), qh: queryHash(v, sort, filters), limit: limit}
	if n := len(params["cursor"]); n > 1 {
		// A client appending the next page's cursor to the URL it fetched
		// would be served the same page for ever.
		return nil, badRequest("bad_cursor", "cursor", "cursor is given %d times: give it once", n)
	}
	if req.cur, err = s.openCursor(req, params.Get("cursor")); err != nil {
		return nil, err
	}
	return req, nil
}

// list reads a prepared list's page (see List).
func (s *Server) list(ctx context.Context, req *listRequest) (*ListResult, error) {
	v, k, limit := req.v, req.k, req.limit
	after, err := s.cursorKeys(ctx, req)
	if err != nil {
		return nil, err
	}
	sql, args := listSQL(v, req.filters, k, after, limit)
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, listError(v, err)
	}
	defer rows.Close()
	res := &ListResult{Docs: make([]json.RawMessage, 0, min(limit, 64))}
	var last []*string
	dest := make([]any, 1+len(k.fields))
	for rows.Next() {
		var doc []byte
		keys := make([]*string, len(k.fields))
		dest[0] = &doc
		for i := range keys {
			dest[i+1] = &keys[i]
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, listError(v, err)
		}
		if len(res.Docs) == limit {
			c, err := s.cursors.next(cursor{View: v.Name, Query: req.qh, Keys: last}, k.nullable)
			if err != nil {
				return nil, fmt.Errorf("list %s: cursor: %w", v.Name, err)
			}
			res.NextCursor = &c
			break
		}
		if doc, err = pgDoc(v, doc); err != nil {
			return nil, fmt.Errorf("list %s: %w", v.Name, err)
		}
		res.Docs = append(res.Docs, doc)
		last = keys
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, listError(v, err)
	}
	return res, nil
}

// openCursor opens and checks the cursor of a list request (none: nil):
// it must continue this view, sort and filters.
func (s *Server) openCursor(req *listRequest, c string) (*cursor, error) {
	if c == "" {
		return nil, nil
	}
	cur, err := s.cursors.decode(c)
	if err != nil {
		return nil, err
	}
	if cur.View != req.v.Name || cur.Query != req.qh || len(cur.Keys) != len(req.k.fields) {
		return nil, badRequest("bad_cursor", "cursor", "cursor belongs to another view, sort or filter")
	}
	// Only the sort field may be NULL or stand as a Ref, and only when it
	// is not an id field (k.nullable).
	ref := cur.Ref != ""
	for i, key := range cur.Keys {
		if key == nil && (i > 0 || !req.k.nullable) || ref && i == 0 && (key != nil || !req.k.nullable) {
			return nil, badRequest("bad_cursor", "cursor", "cursor is invalid")
		}
	}
	return &cur, nil
}

// cursorKeys returns the key values the page continues after (none: nil),
// reading back the sort key a Ref cursor stands for.
func (s *Server) cursorKeys(ctx context.Context, req *listRequest) ([]*string, error) {
	if req.cur == nil {
		return nil, nil
	}
	keys := slices.Clone(req.cur.Keys)
	if req.cur.Ref != "" {
		var err error
		if keys[0], err = s.refKey(ctx, req.v, req.k, *req.cur); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// listError tells a filter PostgreSQL could not apply to the stored values
// (class 22, data exception: a value inside a jsonb field that does not
// cast to the declared type) from a failure of the store.
func listError(v *view, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && strings.HasPrefix(pgErr.Code, "22") {
		return badRequest("bad_value", "", "view %s: a stored value cannot be compared as asked: %s", v.Name, pgErr.Message)
	}
	if e := undeployed(v, err); e != nil {
		return e
	}
	return fmt.Errorf("list %s: %w", v.Name, err)
}

// undeployed is the answer to a read of a view table that is not there:
// no projector run has deployed the view to this database yet (or its
// table was dropped), or not this version of it (a column the statements
// name, all from the view's definition, is not there yet); nil for any
// other error.
func undeployed(v *view, err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return nil
	}
	switch pgErr.Code {
	case "42P01", "3F000": // undefined table, schema
		return &Error{Status: http.StatusServiceUnavailable, Code: "not_deployed",
			Message: fmt.Sprintf("view %s has no table in PostgreSQL: no projector run has deployed it to this database yet, or its table was dropped (projector rebuild %s --sinks postgres)", v.Name, v.Name)}
	case "42703": // undefined column
		return &Error{Status: http.StatusServiceUnavailable, Code: "not_deployed",
			Message: fmt.Sprintf("view %s: %s: no projector run has deployed this version of the view yet", v.Name, pgErr.Message)}
	}
	return nil
}

// allowParams refuses the reserved parameters an endpoint does not take.
func allowParams(params url.Values, allowed ...string) error {
	for k := range params {
		if reserved[k] && !contains(allowed, k) {
			return badRequest("bad_parameter", k, "parameter %q does not apply here", k)
		}
	}
	return nil
}
