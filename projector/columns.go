package projector

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/projections"
)

// The state keeps only the columns some view reads (projections.Source.Kept),
// as the configuration of the instance that wrote each row said. A column
// a changed configuration starts to keep is missing from the rows written
// before: a view reading it shows it null there until those rows are read
// again from the source (a rebuild --from source, kafka or signal). A
// rebuild from the state alone cannot fill it.
//
// A column whose declared type changed is alike: the rows written before
// hold its values as the earlier type decoded them (a bigint's 1 where
// numeric(10,2) gives "1.00"), and the builder takes a column's value as
// the state holds it, so only a re-read decodes them anew.
//
// projector.state_columns records, per source, the columns every row of
// its state holds ("complete") and the declared type each was decoded as
// ("types"): at each start the columns this configuration keeps, less
// those an earlier one did not (an instance keeping fewer columns writes
// rows without them) and those it declared another type (a column recorded
// without a type, by an earlier version, is taken as unchanged), and all
// of them again once a rebuild has read every row of the source anew
// (Reread).

// checkColumns records the columns the plan keeps and the topics its
// sources read, and warns of the views whose documents lack columns
// (warnMissing) and of sources renamed (renamedSources).
func (e *Engine) checkColumns(ctx context.Context, st *state) error {
	renamed, err := st.renamedSources(ctx, e.plan, e.plan.Sources)
	if err != nil {
		return err
	}
	missing, err := st.trackColumns(ctx, e.plan, renamed)
	if err != nil {
		return err
	}
	e.missing = missing
	e.warnMissing()
	for _, r := range renamed {
		e.log.Warn(r.Warning())
	}
	return nil
}

// trackColumns records the columns the plan keeps, with their declared
// types, and the sources renamed, and returns, by source name, the columns
// its rows may lack.
func (s *state) trackColumns(ctx context.Context, plan *projections.Plan, renamed []Renamed) (map[string][]string, error) {
	missing := map[string][]string{}
	err := retryTx(ctx, s.pool, func(tx pgx.Tx) error {
		clear(missing)
		for _, src := range plan.Sources {
			var from *string
			if i := slices.IndexFunc(renamed, func(r Renamed) bool { return r.Source == src.Name }); i >= 0 {
				from = &renamed[i].Old
			}
			var complete []string
			// An empty state holds every column it will be written with.
			// (Undeclared columns: the whole row is kept, and complete is
			// empty.)
			err := tx.QueryRow(ctx, `INSERT INTO `+s.ident("state_columns")+` AS c (source, topic, complete, types, renamed_from)
				VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (source) DO UPDATE SET updated_at = now(), topic = excluded.topic, complete = CASE
					WHEN NOT EXISTS (SELECT 1 FROM `+s.table(src)+`) THEN excluded.complete
					ELSE ARRAY(SELECT k FROM unnest(c.complete) k WHERE k = ANY(excluded.complete)
						AND (c.types->>k IS NULL OR c.types->>k = excluded.types->>k) ORDER BY 1) END,
					types = excluded.types, renamed_from = coalesce(excluded.renamed_from, c.renamed_from)
				RETURNING complete`, src.Name, src.Topic, append([]string{}, src.Kept...), keptTypes(src), from).Scan(&complete)
			if err != nil {
				return err
			}
			for _, col := range src.Kept {
				if !slices.Contains(complete, col) {
					missing[src.Name] = append(missing[src.Name], col)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("record the state's columns: %w", err)
	}
	return missing, nil
}

// keptTypes is the declared type of each column src keeps, as
// state_columns.types records it.
func keptTypes(src *projections.Source) map[string]string {
	out := make(map[string]string, len(src.Kept))
	for _, col := range src.Kept {
		if t, ok := src.ColumnType(col); ok {
			out[col] = t.String()
		}
	}
	return out
}

// LackingColumns is MissingColumns of each view of plan (by view name; views
// lacking none left out) without an engine and without writing anything:
// what a start with plan would find, for `projector validate`.
func LackingColumns(ctx context.Context, pool *pgxpool.Pool, schema string, plan *projections.Plan) (map[string][]string, error) {
	st := &state{schema: schema}
	missing := map[string][]string{}
	for _, src := range plan.Sources {
		if len(src.Kept) == 0 {
			continue
		}
		var complete []string
		var types map[string]string
		// types read through to_jsonb: a table an earlier version created
		// without the column reads as recording none.
		err := pool.QueryRow(ctx, `SELECT c.complete, to_jsonb(c)->'types' FROM `+st.ident("state_columns")+` c
			WHERE c.source = $1 AND EXISTS (SELECT 1 FROM `+st.table(src)+`)`, src.Name).Scan(&complete, &types)
		if errors.Is(err, pgx.ErrNoRows) || isUndefinedTable(err) {
			continue // nothing recorded, or an empty state: it will hold every column
		}
		if err != nil {
			return nil, fmt.Errorf("read the state's columns of %s: %w", src.Name, err)
		}
		now := keptTypes(src)
		for _, col := range src.Kept {
			if was, typed := types[col]; !slices.Contains(complete, col) || typed && was != now[col] {
				missing[src.Name] = append(missing[src.Name], col)
			}
		}
	}
	e := &Engine{plan: plan, missing: missing}
	out := map[string][]string{}
	for _, v := range plan.Views {
		if cols := e.MissingColumns(v); len(cols) > 0 {
			out[v.Name] = cols
		}
	}
	return out, nil
}

func isUndefinedTable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "42P01"
}

// MissingColumns lists, as "source.column", the columns view reads that
// rows of the state written before this configuration may lack, or hold
// as another declared type (see the top of the file). Migrate finds them.
func (e *Engine) MissingColumns(v *projections.View) []string {
	var out []string
	for src, cols := range viewReads(v) {
		for _, col := range e.missing[src.Name] {
			if cols[col] {
				out = append(out, src.Name+"."+col)
			}
		}
	}
	slices.Sort(out)
	return out
}

// warnMissing logs, per view, the columns it reads that older rows may lack.
func (e *Engine) warnMissing() {
	for _, v := range e.plan.Views {
		if cols := e.MissingColumns(v); len(cols) > 0 {
			e.log.Warn("the view reads columns the state did not keep, or kept as another declared type, when older rows were written: "+
				"their documents show them null, or as the earlier type gave them, until the view is rebuilt from its sources (projector rebuild VIEW --from source, kafka or signal)",
				"view", v.Name, "columns", cols)
		}
	}
}

// ReadTypes is the declared type of each source column view reads, by
// "source.column": the types its documents were decoded by, which a
// retyped column changes (see the top of the file). A source without
// declared columns has none.
func ReadTypes(v *projections.View) map[string]string {
	out := map[string]string{}
	for src, cols := range viewReads(v) {
		for col := range cols {
			if t, ok := src.ColumnType(col); ok {
				out[src.Name+"."+col] = t.String()
			}
		}
	}
	return out
}

// groupColumns lists the root columns each aggregation view reads, which
// are all a recompute of its groups needs to read of their rows: a few
// columns of wide rows, in groups of up to millions. A view over a source
// without declared columns reads whole rows.
func groupColumns(plan *projections.Plan) map[*projections.View][]string {
	out := map[*projections.View][]string{}
	for _, v := range plan.Views {
		if len(v.GroupBy) > 0 && v.Root.Columns != nil {
			out[v] = slices.Sorted(maps.Keys(viewReads(v)[v.Root]))
		}
	}
	return out
}

// viewReads lists, per source, the columns a view's documents are built
// from: its id and group, its fields, joins, orders and aggregates, and
// the columns its expressions name (every declared one where an
// expression reaches $env).
func viewReads(v *projections.View) map[*projections.Source]map[string]bool {
	out := map[*projections.Source]map[string]bool{}
	add := func(src *projections.Source, cols ...string) {
		if out[src] == nil {
			out[src] = map[string]bool{}
		}
		for _, c := range cols {
			if c != "" {
				out[src][c] = true
			}
		}
	}
	every := func(src *projections.Source, x *projections.Expr) {
		if x == nil {
			return
		}
		names, all := x.Reads()
		if all {
			add(src, slices.Collect(maps.Keys(src.Columns))...)
			return
		}
		for _, n := range names {
			if _, ok := src.Columns[n]; ok {
				add(src, n)
			}
		}
	}
	var fields func(src *projections.Source, fs []*projections.Field)
	fields = func(src *projections.Source, fs []*projections.Field) {
		for _, f := range fs {
			switch f.Kind {
			case projections.KindColumn:
				add(src, f.Column)
			case projections.KindExpr:
				every(src, f.Expr)
			case projections.KindOne, projections.KindMany:
				j := f.Join
				for _, p := range j.On {
					add(j.Source, p.Joined)
					add(src, p.Outer)
				}
				for _, o := range j.OrderBy {
					add(j.Source, o.Column)
				}
				add(j.Source, f.Column)
				every(j.Source, j.Where)
				fields(j.Source, j.Fields)
			case projections.KindAgg:
				if f.Agg.Array == "" {
					add(src, f.Agg.Column)
					every(src, f.Agg.Where)
				} else if i := slices.IndexFunc(fs, func(g *projections.Field) bool { return g.Name == f.Agg.Array && g.Join != nil }); i >= 0 {
					every(fs[i].Join.Source, f.Agg.Where)
				}
			}
		}
	}
	add(v.Root, v.IDColumns...)
	add(v.Root, v.GroupBy...)
	every(v.Root, v.Where)
	fields(v.Root, v.Fields)
	return out
}
