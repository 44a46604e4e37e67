package postgres

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// Column is one column of a view's table.
type Column struct {
	Name string
	// Type is SQL type text from the view definition: bigint, integer,
	// numeric(10,2), text, boolean, timestamptz, timestamp, date, jsonb,
	// double precision, uuid, text[] ... Nested objects and arrays are jsonb.
	Type string
}

// Index is an index the view declares. A field is a column name or a path
// into a jsonb column, "customer.id", indexed as ((customer->>'id')).
type Index struct {
	Fields []string
	Unique bool
}

// View is a read model stored in PostgreSQL.
//
// Each generation lives in a physical table <Schema>.<Table>__g<Generation>
// holding the columns plus _rev, _deleted and _updated_at; readers query the
// view <Schema>.<Table>, which shows the active generation without its
// tombstones.
type View struct {
	Name       string   // the view name, as in sinks.Doc.View
	Schema     string   // default "public"
	Table      string   // what readers query
	Columns    []Column // in order
	ID         []string // primary key columns, a subset of Columns
	Indexes    []Index
	Generation int // default 1
	// Registered are the view's generations the registry knows, in any
	// state: readers may be on one of them ahead of Generation (a swap
	// under way), never on one it does not know (see checkReadersBehind).
	Registered []int
	// Lost: the served generation's table was deployed once and is gone
	// (dropped behind projector's back). Migrate neither creates it again,
	// empty, nor points readers at it: its writes fail, retried as an
	// outage, until a rebuild serves another generation.
	Lost bool
	// Recorded are the columns of the definition the registry recorded
	// for the served documents; nil when none is recorded. It tells a
	// column this definition removed (Recorded declares it: a rebuild is
	// needed) from one an instance on a newer file added online during a
	// rolling deploy (neither declares it), which the sink keeps and
	// writes NULL: see ForeignColumns.
	Recorded []string
}

// Columns the sink adds to every physical table; a view cannot declare them.
const (
	colRev       = "_rev"
	colDeleted   = "_deleted"
	colUpdatedAt = "_updated_at"
)

// maxIdentifier is PostgreSQL's NAMEDATALEN-1: longer names are truncated
// silently by the server, which would make two names collide.
const maxIdentifier = 63

// typePattern admits SQL type names with an optional modifier and array
// brackets. Types are the only SQL text taken from a definition that cannot
// be quoted or bound, so anything beyond words, digits and those punctuation
// marks is refused before it reaches a statement.
var typePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?( [A-Za-z_][A-Za-z0-9_]*)*( ?\( ?[0-9]+( ?, ?[0-9]+)? ?\))?( [A-Za-z_][A-Za-z0-9_]*)*( ?\[[0-9]*\])*$`)

// typeKeywords would turn a type into a column constraint or clause.
var typeKeywords = map[string]bool{
	"as": true, "check": true, "collate": true, "constraint": true, "default": true,
	"generated": true, "key": true, "not": true, "null": true, "primary": true,
	"references": true, "unique": true, "using": true,
}

// view is a validated View with the SQL the sink runs for it.
type view struct {
	View
	isKey    []bool   // per column
	jsonKeys [][]byte // per column: `"name":` as it appears in a row's JSON
	upsert   string   // the batched, rev-guarded upsert into the active generation
	foreign  []string // columns of the active generation a newer file added online (see keep)
	newer    string   // whether the stored row of a one-row payload has its rev or a newer one
	setAside string   // takes an older stored row of a one-row payload out of the declared indexes
	restore  string   // puts it back
}

func compile(v View) (*view, error) {
	if v.Schema == "" {
		v.Schema = "public"
	}
	if v.Generation == 0 {
		v.Generation = 1
	}
	if err := validate(v); err != nil {
		return nil, fmt.Errorf("view %q: %w: %w", v.Name, ErrInvalidView, err)
	}
	c := &view{View: v, isKey: make([]bool, len(v.Columns)), jsonKeys: make([][]byte, len(v.Columns))}
	ids := map[string]bool{}
	for _, id := range v.ID {
		ids[id] = true
	}
	for i, col := range v.Columns {
		c.isKey[i] = ids[col.Name]
		name, err := json.Marshal(col.Name)
		if err != nil {
			return nil, fmt.Errorf("view %q: column %q: %w", v.Name, col.Name, err)
		}
		c.jsonKeys[i] = append(name, ':')
	}
	c.upsert = upsertSQL(c.View, c.physical(v.Generation), nil)
	c.newer = newerSQL(c.View, c.physical(v.Generation))
	c.setAside = setAsideSQL(c.View, c.physical(v.Generation))
	c.restore = restoreSQL(c.View, c.physical(v.Generation))
	return c, nil
}

func validate(v View) error {
	if v.Name == "" {
		return fmt.Errorf("name is empty")
	}
	for _, name := range []string{v.Schema, v.Table} {
		if err := checkIdentifier(name); err != nil {
			return err
		}
	}
	if strings.HasPrefix(v.Schema, "pg_") {
		return fmt.Errorf("schema %q: names starting with pg_ are reserved for PostgreSQL's own schemas", v.Schema)
	}
	if v.Generation < 0 {
		return fmt.Errorf("generation %d is negative", v.Generation)
	}
	if n := len(physicalName(v.Table, v.Generation)); n > maxIdentifier {
		return fmt.Errorf("table %q: with its generation suffix the name is %d bytes, PostgreSQL allows %d", v.Table, n, maxIdentifier)
	}
	if len(v.Columns) == 0 {
		return fmt.Errorf("no columns")
	}
	types := map[string]string{}
	for _, col := range v.Columns {
		if err := checkIdentifier(col.Name); err != nil {
			return fmt.Errorf("column: %w", err)
		}
		switch {
		case col.Name == colRev, col.Name == colDeleted, col.Name == colUpdatedAt:
			return fmt.Errorf("column %q is reserved for the sink", col.Name)
		case slices.Contains(systemColumns, col.Name):
			return fmt.Errorf("column %q is the name of a PostgreSQL system column", col.Name)
		}
		if _, dup := types[col.Name]; dup {
			return fmt.Errorf("column %q declared twice", col.Name)
		}
		if err := checkType(col.Type); err != nil {
			return fmt.Errorf("column %q: %w", col.Name, err)
		}
		types[col.Name] = col.Type
	}
	if len(v.ID) == 0 {
		return fmt.Errorf("no id columns")
	}
	seen := map[string]bool{}
	for _, id := range v.ID {
		if _, ok := types[id]; !ok {
			return fmt.Errorf("id column %q is not a column", id)
		}
		if seen[id] {
			return fmt.Errorf("id column %q listed twice", id)
		}
		if noBtree(types[id]) {
			return fmt.Errorf("id column %q is %s, which a primary key cannot index (no btree operator class): use jsonb", id, types[id])
		}
		seen[id] = true
	}
	for _, ix := range v.Indexes {
		if len(ix.Fields) == 0 {
			return fmt.Errorf("index with no fields")
		}
		for _, f := range ix.Fields {
			if _, err := indexExpr(f, types); err != nil {
				return err
			}
			if t, ok := types[f]; ok && noBtree(t) {
				return fmt.Errorf("index field %q is %s, which an index cannot hold (no btree operator class): use jsonb", f, t)
			}
		}
	}
	return nil
}

// systemColumns are the names of the columns PostgreSQL gives every table,
// which a table cannot declare again.
var systemColumns = []string{"tableoid", "xmin", "cmin", "xmax", "cmax", "ctid"}

// noBtree reports whether a column of SQL type t cannot be in a btree
// index, a primary key's or a declared one: json has no equality, unlike
// jsonb, and neither has an array of it.
func noBtree(t string) bool {
	t = strings.Join(strings.Fields(strings.ToLower(t)), "")
	return t == "json" || t == "json[]"
}

func checkIdentifier(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty name")
	case len(name) > maxIdentifier:
		return fmt.Errorf("name %q is longer than %d bytes", name, maxIdentifier)
	case strings.ContainsRune(name, 0) || !utf8.ValidString(name):
		return fmt.Errorf("name %q is not valid text", name)
	}
	return nil
}

func checkType(t string) error {
	if !typePattern.MatchString(t) {
		return fmt.Errorf("type %q is not a SQL type name", t)
	}
	for _, w := range strings.FieldsFunc(strings.ToLower(t), func(r rune) bool { return r == ' ' || r == '(' || r == '.' }) {
		if typeKeywords[w] {
			return fmt.Errorf("type %q: %q is not part of a type name", t, w)
		}
	}
	return nil
}

// indexExpr is the SQL for one index field: a quoted column, or for a path
// into a jsonb column an expression ending in ->> so the index holds text.
func indexExpr(field string, types map[string]string) (string, error) {
	if _, ok := types[field]; ok {
		return quote(field), nil
	}
	parts := strings.Split(field, ".")
	typ, ok := types[parts[0]]
	if !ok || len(parts) < 2 {
		return "", fmt.Errorf("index field %q: no such column", field)
	}
	if t := strings.ToLower(typ); t != "jsonb" && t != "json" {
		return "", fmt.Errorf("index field %q: column %q is %s, a path needs jsonb", field, parts[0], typ)
	}
	var b strings.Builder
	b.WriteString("(" + quote(parts[0]))
	for i, p := range parts[1:] {
		if p == "" || strings.ContainsRune(p, 0) {
			return "", fmt.Errorf("index field %q: empty or invalid path element", field)
		}
		op := "->"
		if i == len(parts)-2 {
			op = "->>"
		}
		b.WriteString(op + quoteLiteral(p))
	}
	b.WriteString(")")
	return b.String(), nil
}

func quote(name string) string { return pgx.Identifier{name}.Sanitize() }

// quoteLiteral quotes a string constant for DDL, where parameters cannot be
// bound. With backslashes it uses the escape-string form E'…' so the result
// does not depend on standard_conforming_strings.
func quoteLiteral(s string) string {
	s = strings.ReplaceAll(s, "'", "''")
	if strings.Contains(s, `\`) {
		return ` E'` + strings.ReplaceAll(s, `\`, `\\`) + `'`
	}
	return "'" + s + "'"
}

func physicalName(table string, generation int) string {
	return table + "__g" + strconv.Itoa(generation)
}

func (v *view) physical(generation int) pgx.Identifier {
	return pgx.Identifier{v.Schema, physicalName(v.Table, generation)}
}

func (v *view) reader() pgx.Identifier { return pgx.Identifier{v.Schema, v.Table} }

// RecordColumn is how the statements read column c from a payload row
// (the record r): its type in jsonb_to_recordset's column list and the
// expression giving the stored value. The doc holds bytes as base64 text
// (JSON has no bytes), which a cast would store as the text's own bytes,
// so bytea and bytea[] are read as text and decoded; json[] and jsonb[]
// as one jsonb. Verification reads the expected rows the same way.
func RecordColumn(c Column) (def, expr string) {
	q := quote(c.Name)
	switch c.Type {
	case "bytea":
		return q + " text", "decode(r." + q + ", 'base64')"
	case "bytea[]":
		return q + " text[]", "CASE WHEN r." + q + " IS NULL THEN NULL ELSE coalesce((SELECT array_agg(decode(x, 'base64') ORDER BY i) FROM unnest(r." + q + ") WITH ORDINALITY AS u(x, i)), '{}') END"
	case "json[]", "jsonb[]":
		// Read as one jsonb and rebuilt from its elements: jsonb_to_recordset
		// would read an element that is itself an array as another
		// dimension ([[1,2],[3]] refused, [[1,2],[3,4]] made 2-D). A null
		// element is SQL NULL, as in the other arrays, not the JSON null
		// x::jsonb would make of it.
		elem := strings.TrimSuffix(c.Type, "[]")
		value := "CASE WHEN jsonb_typeof(x) = 'null' THEN NULL ELSE x::" + elem + " END"
		return q + " jsonb", "CASE WHEN r." + q + " IS NULL OR jsonb_typeof(r." + q + ") <> 'array' THEN NULL ELSE coalesce((SELECT array_agg(" + value + " ORDER BY i) FROM jsonb_array_elements(r." + q + ") WITH ORDINALITY AS u(x, i)), '{}') END"
	}
	return q + " " + c.Type, "r." + q
}

// upsertSQL is the one statement that writes a batch: the rows arrive as a
// single JSON array in $1 and PostgreSQL types every value itself (numeric
// from "12.50", timestamptz from RFC 3339, jsonb from nested values). The
// WHERE on the conflict branch is the rev guard; deletes are the same
// statement with _deleted set and the non-key columns null. The foreign
// columns (see keep) are written NULL.
func upsertSQL(v View, table pgx.Identifier, foreign []string) string {
	cols := make([]string, 0, len(v.Columns)+2)
	defs := make([]string, 0, len(v.Columns)+2)
	sel := make([]string, 0, len(v.Columns)+3)
	set := make([]string, 0, len(v.Columns)+3)
	for _, c := range v.Columns {
		def, expr := RecordColumn(c)
		cols = append(cols, quote(c.Name))
		defs = append(defs, def)
		sel = append(sel, expr)
	}
	for _, name := range foreign {
		cols = append(cols, quote(name))
		sel = append(sel, "NULL")
	}
	for _, c := range []struct{ name, typ string }{{colRev, "bigint"}, {colDeleted, "boolean"}} {
		q := quote(c.name)
		cols = append(cols, q)
		defs = append(defs, q+" "+c.typ)
		sel = append(sel, "r."+q)
	}
	cols = append(cols, quote(colUpdatedAt))
	sel = append(sel, "now()")
	ids := map[string]bool{}
	keys := make([]string, 0, len(v.ID))
	for _, id := range v.ID {
		ids[id] = true
		keys = append(keys, quote(id))
	}
	for _, c := range v.Columns {
		if !ids[c.Name] {
			set = append(set, quote(c.Name)+" = excluded."+quote(c.Name))
		}
	}
	for _, name := range foreign {
		set = append(set, quote(name)+" = excluded."+quote(name))
	}
	for _, c := range []string{colRev, colDeleted, colUpdatedAt} {
		set = append(set, quote(c)+" = excluded."+quote(c))
	}
	return "INSERT INTO " + table.Sanitize() + " AS t (" + strings.Join(cols, ", ") + ")\n" +
		"SELECT " + strings.Join(sel, ", ") + "\n" +
		"FROM jsonb_to_recordset($1::jsonb) AS r(" + strings.Join(defs, ", ") + ")\n" +
		"ON CONFLICT (" + strings.Join(keys, ", ") + ") DO UPDATE SET " + strings.Join(set, ", ") + "\n" +
		"WHERE t." + quote(colRev) + " < excluded." + quote(colRev)
}

// storedRows is the FROM and WHERE text that joins the rows of a payload
// (read as upsertSQL reads them, with their _rev) to the stored rows with
// the same key in table t.
func storedRows(v View, table pgx.Identifier) (from, on string) {
	defs := []string{quote(colRev) + " bigint"}
	conds := make([]string, 0, len(v.ID))
	for _, c := range v.Columns {
		if slices.Contains(v.ID, c.Name) {
			def, expr := RecordColumn(c)
			defs = append(defs, def)
			conds = append(conds, "t."+quote(c.Name)+" = "+expr)
		}
	}
	return "jsonb_to_recordset($1::jsonb) AS r(" + strings.Join(defs, ", ") + ")", strings.Join(conds, " AND ")
}

// newerSQL tells whether the table holds the row of a one-row payload (as
// upsertSQL reads it) at its revision or a newer one. PostgreSQL checks a
// row's constraints before the conflict's rev guard: a doc the table
// refuses may be one it would have skipped as stale anyway.
func newerSQL(v View, table pgx.Identifier) string {
	from, on := storedRows(v, table)
	return "SELECT EXISTS (SELECT 1 FROM " + from + " JOIN " + table.Sanitize() + " t ON " + on +
		" WHERE t." + quote(colRev) + " >= r." + quote(colRev) + ")"
}

// setAsideSQL takes the stored row of a one-row payload out of the
// declared indexes, which are partial (WHERE NOT _deleted), by marking it
// deleted, when its rev is lower than the payload's: the upsert that
// follows in the same transaction will replace it. Only a row that was
// not a tombstone is touched, so that restoreSQL undoes exactly this.
func setAsideSQL(v View, table pgx.Identifier) string {
	from, on := storedRows(v, table)
	return "UPDATE " + table.Sanitize() + " t SET " + quote(colDeleted) + " = true FROM " + from +
		" WHERE " + on + " AND t." + quote(colRev) + " < r." + quote(colRev) + " AND NOT t." + quote(colDeleted)
}

// restoreSQL puts back in the indexes the stored row setAsideSQL took out
// when the upsert that was to replace it failed: its rev is unchanged.
func restoreSQL(v View, table pgx.Identifier) string {
	from, on := storedRows(v, table)
	return "UPDATE " + table.Sanitize() + " t SET " + quote(colDeleted) + " = false FROM " + from +
		" WHERE " + on + " AND t." + quote(colRev) + " < r." + quote(colRev) + " AND t." + quote(colDeleted)
}

// Tables are the reader view of v and the table of its generation
// v.Generation, as the sink names them.
func (v View) Tables() (reader, table pgx.Identifier) {
	schema := v.Schema
	if schema == "" {
		schema = "public"
	}
	return pgx.Identifier{schema, v.Table}, pgx.Identifier{schema, physicalName(v.Table, max(v.Generation, 1))}
}
