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
// projector.state_columns records, per source, the columns every row of
// its state holds ("complete"): at each start the columns this
// configuration keeps, less those an earlier one did not (an instance
// keeping fewer columns writes rows without them), and all of them again
// once a rebuild has read every row of the source anew (Reread).

// checkColumns records the columns the plan keeps and the topics its
// sources read, and warns of the views whose documents lack columns
// (warnMissing) and of sources renamed (renamedSources).
func (e *Engine) checkColumns(ctx context.Context, st *state) error {
	missing, err := st.trackColumns(ctx, e.plan)
	if err != nil {
		return err
	}
	e.missing = missing
	e.warnMissing()
	renamed, err := st.renamedSources(ctx, e.plan)
	if err != nil {
		return fmt.Errorf("look for renamed sources: %w", err)
	}
	for _, w := range renamed {
		e.log.Warn(w)
	}
	return nil
}

// trackColumns records the columns the plan keeps and returns, by source
// name, those its rows may lack.
func (s *state) trackColumns(ctx context.Context, plan *projections.Plan) (map[string][]string, error) {
	missing := map[string][]string{}
	err := retryTx(ctx, s.pool, func(tx pgx.Tx) error {
		clear(missing)
		for _, src := range plan.Sources {
			var complete []string
			// An empty state holds every column it will be written with.
			// (Undeclared columns: the whole row is kept, and complete is
			// empty.)
			err := tx.QueryRow(ctx, `INSERT INTO `+s.ident("state_columns")+` AS c (source, topic, complete) VALUES ($1, $2, $3)
				ON CONFLICT (source) DO UPDATE SET updated_at = now(), topic = excluded.topic, complete = CASE
					WHEN NOT EXISTS (SELECT 1 FROM `+s.table(src)+`) THEN excluded.complete
					ELSE ARRAY(SELECT unnest(c.complete) INTERSECT SELECT unnest(excluded.complete) ORDER BY 1) END
				RETURNING complete`, src.Name, src.Topic, append([]string{}, src.Kept...)).Scan(&complete)
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

// renamedSources finds the sources of plan whose state is empty while a
// source the plan no longer declares, recorded reading the same topic,
// holds rows: a source renamed in the configuration starts from an empty
// state table (state_<name>), and every view joining it misses its rows.
// It returns a warning for each.
func (s *state) renamedSources(ctx context.Context, plan *projections.Plan) ([]string, error) {
	names := make([]string, len(plan.Sources))
	for i, src := range plan.Sources {
		names[i] = src.Name
	}
	var out []string
	for _, src := range plan.Sources {
		var empty bool
		if err := s.pool.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM `+s.table(src)+`)`).Scan(&empty); err != nil {
			return out, err
		}
		if !empty {
			continue
		}
		rows, err := s.pool.Query(ctx, `SELECT source FROM `+s.ident("state_columns")+`
			WHERE topic = $1 AND source <> ALL($2::text[]) ORDER BY source`, src.Topic, names)
		if err != nil {
			return out, err
		}
		old, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return out, err
		}
		for _, o := range old {
			var held bool
			err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+pgx.Identifier{s.schema, "state_" + o}.Sanitize()+`)`).Scan(&held)
			if isUndefinedTable(err) || err == nil && !held {
				continue
			}
			if err != nil {
				return out, err
			}
			out = append(out, fmt.Sprintf("source %s reads topic %s, whose rows the state of source %s (no longer declared) holds: %s starts empty, "+
				"so its views miss every row until they are rebuilt --from source, kafka or signal; to keep the rows instead, stop every instance and "+
				"ALTER TABLE %s RENAME TO %s before starting", src.Name, src.Topic, o, src.Name,
				pgx.Identifier{s.schema, "state_" + o}.Sanitize(), pgx.Identifier{"state_" + src.Name}.Sanitize()))
		}
	}
	return out, nil
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
		err := pool.QueryRow(ctx, `SELECT c.complete FROM `+st.ident("state_columns")+` c
			WHERE c.source = $1 AND EXISTS (SELECT 1 FROM `+st.table(src)+`)`, src.Name).Scan(&complete)
		if errors.Is(err, pgx.ErrNoRows) || isUndefinedTable(err) {
			continue // nothing recorded, or an empty state: it will hold every column
		}
		if err != nil {
			return nil, fmt.Errorf("read the state's columns of %s: %w", src.Name, err)
		}
		for _, col := range src.Kept {
			if !slices.Contains(complete, col) {
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
// rows of the state written before this configuration may lack (see the
// top of the file). Migrate finds them.
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

// Reread records that every row of sources was read again from the source
// with this configuration: their state holds every column it keeps.
func (e *Engine) Reread(ctx context.Context, sources []*projections.Source) error {
	st, ok := e.state.(*state)
	if !ok {
		return nil
	}
	for _, src := range sources {
		if len(src.Kept) == 0 {
			continue
		}
		_, err := st.pool.Exec(ctx, `UPDATE `+st.ident("state_columns")+`
			SET complete = ARRAY(SELECT unnest(complete) UNION SELECT unnest($2::text[]) ORDER BY 1), updated_at = now()
			WHERE source = $1`, src.Name, src.Kept)
		if err != nil {
			return fmt.Errorf("record the state's columns of %s: %w", src.Name, err)
		}
		delete(e.missing, src.Name)
	}
	return nil
}

// warnMissing logs, per view, the columns it reads that older rows may lack.
func (e *Engine) warnMissing() {
	for _, v := range e.plan.Views {
		if cols := e.MissingColumns(v); len(cols) > 0 {
			e.log.Warn("the view reads columns the state did not keep when older rows were written: their documents show them null until the view is rebuilt from its sources (projector rebuild VIEW --from source, kafka or signal)",
				"view", v.Name, "columns", cols)
		}
	}
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
