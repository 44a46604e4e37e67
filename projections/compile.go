package projections

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/projectorhq/projector/config"
)

// Compile builds the plan of a loaded configuration. Every problem is
// reported, each with its position, as config.Errors.
func Compile(cfg *config.Config) (*Plan, error) {
	c := &compiler{cfg: cfg, plan: &Plan{}}
	for i := range cfg.Sources {
		// By pointer, as the views below.
		c.plan.Sources = append(c.plan.Sources, c.source(cfg.Sources[i].Key, &cfg.Sources[i].Value))
	}
	for i := range cfg.Views {
		// By pointer: the config finds where values were written by their
		// address (config.ValuePos).
		if v := c.view(cfg.Views[i].Key, &cfg.Views[i].Value); v != nil {
			c.plan.Views = append(c.plan.Views, v)
		}
	}
	c.finishSources()
	if err := c.errs.Err(); err != nil {
		return nil, err
	}
	return c.plan, nil
}

type compiler struct {
	cfg  *config.Config
	plan *Plan
	errs config.Errors
	used map[*Source]map[string]bool // columns some view reads
	idx  map[*Source]map[string]bool // columns joins look up by
	// hintWork is what columnHint has spent, of maxHintWork; declared
	// caches declaredSize.
	hintWork int
	declared map[*Source]int
}

func (c *compiler) source(name string, s *config.Source) *Source {
	src := &Source{Name: name, Topic: s.Topic, Format: s.Format, Unwrapped: s.Unwrapped, Key: s.Key}
	if s.Format == "avro" && c.cfg.Kafka.SchemaRegistry.URL == "" {
		c.errs.Add(s.Pos, "source %q: format avro needs kafka.schema_registry.url", name)
	}
	if len(s.Columns) > 0 {
		src.Columns = make(map[string]config.Type, len(s.Columns))
		for _, col := range s.Columns {
			t, err := config.ParseType(col.Value)
			if err != nil {
				// config.Load has reported it. The column is still
				// declared, of a type not known: the views using it are
				// not told it is missing.
				t = config.Type{Precision: -1, Scale: -1}
			}
			src.Columns[col.Key] = t
			src.Order = append(src.Order, col.Key)
		}
		for i, k := range s.Key {
			if _, ok := src.Columns[k]; !ok {
				c.errs.Add(c.cfg.ItemPos(&s.Key, i, s.Pos), "source %q: key column %s is not among its columns", name, c.cfg.ShowItem(&s.Key, i))
			}
		}
	}
	return src
}

// sourceKey is the key columns of src for a message, as the file gives
// them (one from the environment not shown).
func (c *compiler) sourceKey(src *Source) string {
	if key := c.sourceKeyList(src); key != nil {
		return c.cfg.ShowList(key)
	}
	return strings.Join(src.Key, ", ")
}

// sourceKeyColumn is key column i of src for a message, as ShowItem
// shows it.
func (c *compiler) sourceKeyColumn(src *Source, i int) string {
	if key := c.sourceKeyList(src); key != nil {
		return c.cfg.ShowItem(key, i)
	}
	return fmt.Sprintf("%q", src.Key[i])
}

// sourceKeyList is the key list of the source src was compiled from.
func (c *compiler) sourceKeyList(src *Source) *config.StringList {
	for i := range c.cfg.Sources {
		if e := &c.cfg.Sources[i]; e.Key == src.Name {
			return &e.Value.Key
		}
	}
	return nil
}

// named is value, written at pos, for a message: as written, unquoted, or
// described by its template when the environment supplied it (config/doc.go:
// such a value is never shown).
func (c *compiler) named(pos config.Pos, value string) string {
	if shown, env := c.cfg.ShowAt(pos, value); env {
		return shown
	}
	return value
}

// namedValue is named for the scalar *ptr, a field of the configuration.
func (c *compiler) namedValue(ptr *string) string {
	if c.cfg.FromEnv(ptr) {
		return c.cfg.Show(ptr)
	}
	return *ptr
}

func (c *compiler) use(s *Source, col string) {
	if c.used == nil {
		c.used = map[*Source]map[string]bool{}
	}
	if c.used[s] == nil {
		c.used[s] = map[string]bool{}
	}
	c.used[s][col] = true
}

func (c *compiler) index(s *Source, col string) {
	if c.idx == nil {
		c.idx = map[*Source]map[string]bool{}
	}
	if c.idx[s] == nil {
		c.idx[s] = map[string]bool{}
	}
	c.idx[s][col] = true
}

// finishSources decides what each source's state keeps and indexes.
func (c *compiler) finishSources() {
	for _, s := range c.plan.Sources {
		if s.Columns == nil {
			continue // undeclared columns: keep the whole row
		}
		kept := map[string]bool{}
		for _, k := range s.Key {
			kept[k] = true
		}
		for col := range c.used[s] {
			kept[col] = true
		}
		for _, col := range s.Order {
			if kept[col] {
				s.Kept = append(s.Kept, col)
			}
		}
		for col := range c.idx[s] {
			if !s.KeyedBy(col) {
				s.Indexed = append(s.Indexed, col)
			}
		}
		sort.Strings(s.Indexed)
	}
	for _, v := range c.plan.Views {
		if len(v.GroupBy) > 0 && len(v.IDColumns) >= 2 && !slices.ContainsFunc(v.Root.IndexedTogether, func(cols []string) bool {
			return slices.Equal(cols, v.IDColumns)
		}) {
			v.Root.IndexedTogether = append(v.Root.IndexedTogether, v.IDColumns)
		}
	}
}

// scope is what the fields at one level can read: the columns of the
// enclosing row's source.
type scope struct {
	view   string
	source *Source
	path   string // "order_view.items" for messages
}

// column checks that a column exists in the scope's source (when its
// columns are declared) and returns its type.
func (c *compiler) column(sc scope, pos config.Pos, col string) (config.Type, bool) {
	if sc.source.Columns == nil {
		return config.Type{}, true
	}
	t, ok := sc.source.Columns[col]
	if !ok {
		name, env := c.cfg.ShowAt(pos, col)
		if strings.Contains(col, ".") && !env {
			c.errs.Add(pos, "%s: source %q has no column %s (a field of a join is read with an expr: { expr: %q, type: … })", sc.path, sc.source.Name, name, col)
			return config.Type{}, false
		}
		c.errs.Add(pos, "%s: source %q has no column %s%s", sc.path, sc.source.Name, name, c.columnHint(sc, col, env))
		return config.Type{}, false
	}
	return t, true
}

func (c *compiler) view(name string, v *config.View) *View {
	root := c.plan.Source(v.From)
	if root == nil {
		return nil // config.Load has reported the unknown source
	}
	view := &View{Name: name, Root: root, Sinks: v.Sinks}
	sc := scope{view: name, source: root, path: name}
	for i, g := range v.GroupBy {
		pos := c.cfg.ItemPos(&v.GroupBy, i, v.Pos)
		if t, ok := c.column(sc, pos, g); ok {
			switch {
			case unscaledNumeric(t):
				// Groups are found by the value's text, as joins are.
				c.errs.Add(pos, "%s: group_by %s is a numeric without a declared scale, whose values keep the scale they came with (2 and 2.0 would be two groups); declare it numeric(p,s)", name, c.named(pos, g))
			case (t.Name == "json" || t.Name == "jsonb") && !t.Array:
				// Text is not jsonb's equality: 1 and 1.0 would be two
				// groups, the number 1 and the string "1" one.
				c.errs.Add(pos, "%s: group_by %s is %s, whose text does not tell its values apart as SQL's GROUP BY does (1 and 1.0 would be two groups, 1 and \"1\" one); group by a column of a scalar type", name, c.named(pos, g), t.Name)
			}
			c.use(root, g)
			c.index(root, g)
		}
	}
	view.GroupBy = v.GroupBy
	view.Fields = c.fields(sc, v.Fields, len(v.GroupBy) > 0)
	if v.Where != "" {
		view.Where = c.where(sc, &v.Where, v.Pos)
	}
	if v.Refresh > 0 {
		view.Refresh = time.Duration(v.Refresh)
		if !view.ReadsClock() {
			c.errs.Add(c.cfg.ValuePos(&v.Refresh, v.Pos), "view %q: refresh recomputes the documents of a view whose expressions call now(); none of this view's do, so a refresh would only write them again unchanged", name)
		}
	}
	c.viewID(view, v)
	c.lossyIDs(view, v)
	c.unscaledIDs(view, v)
	c.sinkTemplates(view, v)
	c.postgresIndexPaths(view, v)
	c.redisIndexTypes(view, v)
	return view
}

// viewID settles which fields identify a document.
func (c *compiler) viewID(view *View, v *config.View) {
	if len(v.Fields) == 0 {
		return // config.Load has asked for fields
	}
	byColumn := map[string]string{}
	for _, f := range view.Fields {
		if f.Kind == KindColumn {
			if _, seen := byColumn[f.Column]; !seen {
				byColumn[f.Column] = f.Name
			}
		}
	}
	if len(v.ID) > 0 && len(view.GroupBy) == 0 && len(view.Root.Key) == 0 {
		// A document is found by its root row's state key, which lists
		// the record key's values by column name: an id over other
		// columns, or in another order, would never find its row.
		c.errs.Add(c.cfg.ValuePos(&v.ID, v.Pos), "view %q: id needs `key:` on source %q (the columns of its Debezium record key, which the id must map)", view.Name, view.Root.Name)
		return
	}
	if len(v.ID) > 0 {
		for i, id := range v.ID {
			f := fieldNamed(view.Fields, id)
			if f == nil || f.Kind != KindColumn {
				c.errs.Add(c.cfg.ItemPos(&v.ID, i, v.Pos), "view %q: id field %s must be a column field of the view", view.Name, c.cfg.ShowItem(&v.ID, i))
				continue
			}
			view.ID = append(view.ID, id)
			view.IDColumns = append(view.IDColumns, f.Column)
		}
		if len(view.GroupBy) > 0 && !slices.Equal(slices.Compact(sorted(view.IDColumns)), sorted(view.GroupBy)) {
			// A doc per group_by value, identified by fewer columns: docs
			// of different groups would overwrite each other.
			c.errs.Add(c.cfg.ValuePos(&v.ID, v.Pos), "view %q: id [%s] must map every group_by column (%s)", view.Name, c.cfg.ShowList(&v.ID), c.cfg.ShowList(&v.GroupBy))
			return
		}
		if len(view.GroupBy) == 0 && len(view.Root.Key) > 0 {
			if !slices.Equal(sorted(view.IDColumns), sorted(view.Root.Key)) {
				c.errs.Add(c.cfg.ValuePos(&v.ID, v.Pos), "view %q: id [%s] must map the key of source %q (%s)", view.Name, c.cfg.ShowList(&v.ID), view.Root.Name, c.sourceKey(view.Root))
				return
			}
			// A document's id is its root row's state key, which lists the
			// key's values in the source's key order, whatever order id
			// names them in.
			id, cols := make([]string, 0, len(view.ID)), make([]string, 0, len(view.ID))
			for _, k := range view.Root.Key {
				i := slices.Index(view.IDColumns, k)
				id, cols = append(id, view.ID[i]), append(cols, k)
			}
			view.ID, view.IDColumns = id, cols
		}
		return
	}
	cols := view.Root.Key
	what := fmt.Sprintf("the key of source %q", view.Root.Name)
	shown := func(i int) string { return c.sourceKeyColumn(view.Root, i) }
	if len(view.GroupBy) > 0 {
		cols = view.GroupBy
		what = "its group_by columns"
		shown = func(i int) string { return c.cfg.ShowItem(&v.GroupBy, i) }
	}
	if len(cols) == 0 {
		c.errs.Add(v.Pos, "view %q: cannot tell the document id: declare `key:` on source %q", view.Name, view.Root.Name)
		return
	}
	for i, col := range cols {
		if _, declared := view.Root.Columns[col]; !declared && view.Root.Columns != nil {
			continue // reported as a column the source does not have
		}
		name, ok := byColumn[col]
		if !ok {
			c.errs.Add(v.Pos, "view %q: no field maps column %s, part of %s, which identifies a document", view.Name, shown(i), what)
			continue
		}
		view.ID = append(view.ID, name)
		view.IDColumns = append(view.IDColumns, col)
	}
}

func (c *compiler) fields(sc scope, fields config.Map[config.Field], grouped bool) []*Field {
	var out []*Field
	for i := range fields {
		f := c.field(sc, fields[i].Key, &fields[i].Value, out, grouped)
		if f != nil {
			out = append(out, f)
		}
	}
	return out
}

func (c *compiler) field(sc scope, name string, f *config.Field, prior []*Field, grouped bool) *Field {
	path := sc.path + "." + name
	switch {
	case f.Agg != "":
		return c.agg(sc, name, f, prior, grouped)
	case grouped && f.Expr != "":
		t, err := config.ParseType(f.Type)
		if err != nil {
			return nil // reported by config.Load
		}
		x := c.groupExpr(scope{view: sc.view, source: sc.source, path: path}, &f.Expr, f.Pos, prior, t)
		return &Field{Name: name, Kind: KindExpr, Type: t, Expr: x}
	case grouped && f.One != "":
		return c.groupJoin(sc, name, f)
	case grouped && f.Column == "":
		return nil // reported by config.Load
	case f.One != "" || f.Many != "":
		return c.join(sc, name, f)
	case f.Expr != "":
		t, err := config.ParseType(f.Type)
		if err != nil {
			return nil // reported by config.Load
		}
		x := c.expr(scope{view: sc.view, source: sc.source, path: path}, &f.Expr, f.Pos, prior, t)
		return &Field{Name: name, Kind: KindExpr, Type: t, Expr: x}
	case f.Column != "":
		pos := c.cfg.ValuePos(&f.Column, f.Pos)
		t, ok := c.column(scope{view: sc.view, source: sc.source, path: path}, pos, f.Column)
		if !ok {
			return nil
		}
		if grouped && !slices.Contains(c.groupBy(sc), f.Column) {
			// Where config.Load has said so, in other words: CompileDraft
			// keeps its problem (sameProblem).
			c.errs.Add(pos, "%s: column %s is not a group_by column of the view", path, c.cfg.Show(&f.Column))
			return nil
		}
		c.use(sc.source, f.Column)
		retyped := false
		if f.Type != "" {
			if ot, err := config.ParseType(f.Type); err == nil {
				retyped, t = ot != t, ot
			}
		}
		if t.Name == "" {
			t = config.Type{Name: "jsonb", Precision: -1, Scale: -1}
		}
		return &Field{Name: name, Kind: KindColumn, Type: t, Column: f.Column, Retyped: retyped}
	}
	return nil // config.Load has reported a field with no kind
}

func (c *compiler) groupBy(sc scope) []string {
	if v, ok := c.cfg.Views.Get(sc.view); ok {
		return v.GroupBy
	}
	return nil
}

// groupByShown is the view's group_by for a message, as ShowList shows it.
func (c *compiler) groupByShown(sc scope) string {
	for i := range c.cfg.Views {
		if e := &c.cfg.Views[i]; e.Key == sc.view {
			return c.cfg.ShowList(&e.Value.GroupBy)
		}
	}
	return strings.Join(c.groupBy(sc), ", ")
}

// groupJoin compiles a one: join of a group_by view (the user whose stats
// a group holds): on its group_by columns only, so that a change of a
// joined row reaches the groups holding its values, and with no joins of
// its own, which nothing would follow up to the groups.
func (c *compiler) groupJoin(sc scope, name string, f *config.Field) *Field {
	out := c.join(sc, name, f)
	if out == nil {
		return nil
	}
	path := sc.path + "." + name
	group := c.groupBy(sc)
	for i := range f.On {
		on := &f.On[i] // its own address: where its value was written
		if _, known := sc.source.Columns[on.Value]; sc.source.Columns != nil && !known {
			continue // join reported the unknown column
		}
		if !slices.Contains(group, on.Value) {
			c.errs.Add(c.cfg.ValuePos(&on.Value, on.KeyPos), "%s: a join of a group_by view is on its group_by columns (%s), and %s is not one", path, c.groupByShown(sc), c.namedValue(&on.Value))
			return nil
		}
	}
	return out
}

func (c *compiler) join(sc scope, name string, f *config.Field) *Field {
	path := sc.path + "." + name
	srcName := f.One
	if f.Many != "" {
		srcName = f.Many
	}
	joined := c.plan.Source(srcName)
	if joined == nil {
		return nil // config.Load has reported the unknown source
	}
	inner := scope{view: sc.view, source: joined, path: path}
	j := &Join{Source: joined, Many: f.Many != ""}
	for i := range f.On {
		on := &f.On[i]
		jt, ok1 := c.column(inner, on.KeyPos, on.Key)
		ot, ok2 := c.column(sc, c.cfg.ValuePos(&on.Value, on.KeyPos), on.Value)
		if !ok1 || !ok2 {
			continue
		}
		if jt.Name != "" && ot.Name != "" && !comparable(jt, ot) {
			why := ""
			if unscaledNumeric(jt) || unscaledNumeric(ot) {
				why = "; declare the column numeric(p,s): a numeric without a scale keeps the one each value came with (2.0 is not 2)"
			}
			c.errs.Add(on.KeyPos, "%s: join type mismatch: %s.%s is %s but %s.%s is %s%s", path, joined.Name, on.Key, jt, sc.source.Name, c.namedValue(&on.Value), ot, why)
		}
		c.use(joined, on.Key)
		c.index(joined, on.Key)
		c.use(sc.source, on.Value)
		c.index(sc.source, on.Value)
		j.On = append(j.On, Pair{Joined: on.Key, Outer: on.Value})
	}
	for i, o := range f.OrderBy {
		ord := Order{Column: strings.TrimPrefix(o, "-"), Desc: strings.HasPrefix(o, "-")}
		if _, ok := c.column(inner, c.cfg.ItemPos(&f.OrderBy, i, f.Pos), ord.Column); ok {
			c.use(joined, ord.Column)
			j.OrderBy = append(j.OrderBy, ord)
		}
	}
	if f.Where != "" {
		j.Where = c.where(inner, &f.Where, f.Pos) // marks the columns it may read used
	}
	out := &Field{Name: name, Join: j, Type: config.Type{Name: "jsonb", Precision: -1, Scale: -1}}
	switch {
	case f.Many != "":
		out.Kind = KindMany
		j.Limit = f.Limit
		j.Fields = c.fields(inner, f.Fields, false)
		if len(j.OrderBy) == 0 && len(joined.Key) > 0 {
			for _, k := range joined.Key {
				j.OrderBy = append(j.OrderBy, Order{Column: k})
				c.use(joined, k)
			}
		}
	case f.Column != "":
		out.Kind = KindOne
		t, ok := c.column(inner, c.cfg.ValuePos(&f.Column, f.Pos), f.Column)
		if !ok {
			return nil
		}
		c.use(joined, f.Column)
		out.Column = f.Column
		if t.Name != "" {
			out.Type = t
		}
	default:
		out.Kind = KindOne
		j.Fields = c.fields(inner, f.Fields, false)
	}
	return out
}

func fieldNamed(fields []*Field, name string) *Field {
	for _, f := range fields {
		if f.Name == name {
			return f
		}
	}
	return nil
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return out
}
