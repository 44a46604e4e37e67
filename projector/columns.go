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
// rebuild from the state alone cannot fill it. A source that stops
// declaring its columns keeps whole rows from then on, but the rows
// written before still hold only what they kept.
//
// A column whose declared type changed is alike: the rows written before
// hold its values as the earlier type decoded them (a bigint's 1 where
// numeric(10,2) gives "1.00"), and the builder takes a column's value as
// the state holds it, so only a re-read decodes them anew. Types are
// compared by what the decoder makes of them (DecodeAlike): numeric(10)
// is numeric(10,0), timestamptz is timestamptz(6), varchar(50) is text.
// A column declared, then not (or the other way), is decoded otherwise.
//
// projector.state_columns records, per source, the columns every row of
// its state holds ("complete") and the declared type each was decoded as
// ("types", "" for none), or that every row holds the whole row ("whole",
// a source declaring no columns): at each start what the record said less
// what this configuration does not keep, or decodes otherwise (an
// instance keeping fewer columns writes rows without them; a column
// recorded without a type, by an earlier version, is taken as unchanged);
// what this configuration keeps when the state is empty, or, for a source
// renamed, what the old source's rows hold (see heldAtStart); and all of
// it again once a rebuild has read every row of the source anew (Reread).

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
	for _, w := range renameWarnings(renamed) {
		e.log.Warn(w)
	}
	return nil
}

// trackColumns records what the rows of each source of plan hold once a
// start with it writes them (heldAtStart), and the sources renamed, and
// returns, by source name, the columns its rows may lack.
func (s *state) trackColumns(ctx context.Context, plan *projections.Plan, renamed []Renamed) (map[string][]string, error) {
	missing := map[string][]string{}
	err := retryTx(ctx, s.pool, func(tx pgx.Tx) error {
		clear(missing)
		// Instances starting together record one after the other, each
		// carrying over what the one before recorded.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('projector.state_columns'))`); err != nil {
			return err
		}
		for _, src := range plan.Sources {
			olds := renamedFrom(renamed, src.Name)
			held, err := s.heldAtStart(ctx, tx, src, olds, true)
			if err != nil {
				return err
			}
			var from *string
			var among []string // several: which one cannot be told
			if len(olds) > 0 {
				from, among = &olds[0], renamedAmong(renamed, src.Name)
			}
			_, err = tx.Exec(ctx, `INSERT INTO `+s.ident("state_columns")+` AS c (source, topic, complete, types, whole, renamed_from, renamed_among)
				VALUES ($1, $2, $3, $4, $5, $6, $7)
				ON CONFLICT (source) DO UPDATE SET updated_at = now(), topic = excluded.topic, complete = excluded.complete,
					types = excluded.types, whole = excluded.whole, renamed_from = coalesce(excluded.renamed_from, c.renamed_from),
					renamed_among = CASE WHEN excluded.renamed_from IS NULL THEN c.renamed_among ELSE excluded.renamed_among END,
					superseded_by = NULL`,
				src.Name, src.Topic, append([]string{}, held.complete...), held.typesOrEmpty(), held.whole, from, among)
			if err != nil {
				return err
			}
			if cols := held.lacking(src, planReads(plan, src)); len(cols) > 0 {
				missing[src.Name] = cols
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("record the state's columns: %w", err)
	}
	return missing, nil
}

// LackingColumns is MissingColumns of each view of plan (by view name; views
// lacking none left out) without an engine and without writing anything:
// what a start with plan would find, for `projector validate`.
func LackingColumns(ctx context.Context, pool *pgxpool.Pool, schema string, plan *projections.Plan) (map[string][]string, error) {
	st := &state{pool: pool, schema: schema}
	renamed, err := RenamedSources(ctx, pool, schema, plan)
	if err != nil {
		return nil, err
	}
	missing := map[string][]string{}
	for _, src := range plan.Sources {
		held, err := st.heldAtStart(ctx, pool, src, renamedFrom(renamed, src.Name), false)
		if err != nil {
			return nil, fmt.Errorf("read the state's columns of %s: %w", src.Name, err)
		}
		if cols := held.lacking(src, planReads(plan, src)); len(cols) > 0 {
			missing[src.Name] = cols
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
// as another declared type (see the top of the file); "source.*" for an
// expression reading every column of a source declaring none. Migrate
// finds them.
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
// expression reaches $env). Over a source declaring no columns, an
// expression's names are its columns but for the fields beside it, and
// $env reads everyColumn.
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
	// beside are the fields an expression of a field may read besides the
	// row's columns.
	every := func(src *projections.Source, x *projections.Expr, beside []*projections.Field) {
		if x == nil {
			return
		}
		names, all := x.Reads()
		switch {
		case all && src.Columns == nil:
			add(src, everyColumn)
		case all:
			add(src, slices.Collect(maps.Keys(src.Columns))...)
		}
		for _, n := range names {
			_, declared := src.Columns[n]
			field := slices.ContainsFunc(beside, func(f *projections.Field) bool { return f.Name == n })
			if declared || src.Columns == nil && !field {
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
				every(src, f.Expr, fs)
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
				every(j.Source, j.Where, nil)
				fields(j.Source, j.Fields)
			case projections.KindAgg:
				if f.Agg.Array == "" {
					add(src, f.Agg.Column)
					every(src, f.Agg.Where, nil)
				} else if i := slices.IndexFunc(fs, func(g *projections.Field) bool { return g.Name == f.Agg.Array && g.Join != nil }); i >= 0 {
					every(fs[i].Join.Source, f.Agg.Where, nil)
				}
			}
		}
	}
	add(v.Root, v.IDColumns...)
	add(v.Root, v.GroupBy...)
	every(v.Root, v.Where, nil)
	fields(v.Root, v.Fields)
	return out
}
