package projector

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/projections"
)

// Leftover is something the state keeps that a configuration reads
// nothing by or from: an index of a join or a group_by since removed, the
// state table of a source no longer declared. projector drops none of
// them itself: during a rolling deploy the instances still running the
// earlier file read by them, and another deployment may share the schema.
type Leftover struct {
	What string // "index projector."state_orders:user_id""
	Drop string // the statement that removes it; "" when Renamed is set
	// Renamed is set for the state table of a source renamed in the
	// configuration (see Renamed): the new name, whose views need its
	// rows until they are read again from the source.
	Renamed string
	// Keep, while the new name's state is empty, is the statement that
	// gives it these rows, to run with every instance stopped.
	Keep string
	// Among lists, when the new name may be renamed from several sources
	// (see Renamed.Among), their names: no Keep is given, as which holds
	// the rows as they are now cannot be told.
	Among []string
}

// Unneeded lists the leftovers of plan's state in schema: what `projector
// validate` tells an operator to drop once no instance needs it. Each
// index slows every write of its table, each table holds its source's rows;
// so do the documents of views no longer declared left pending or set
// aside (undeclaredLeftovers). The state table of a source renamed is told
// apart: its rows are the new name's (renamedLeftover).
func Unneeded(ctx context.Context, pool *pgxpool.Pool, schema string, plan *projections.Plan) ([]Leftover, error) {
	st := &state{pool: pool, schema: schema}
	tables, err := st.tables(ctx, pool)
	if err != nil {
		return nil, err
	}
	live, err := st.liveIndexes(ctx, pool)
	if err != nil {
		return nil, err
	}
	declared := map[string]bool{}
	for _, src := range plan.Sources {
		declared["state_"+src.Name] = true
	}
	planned, obsolete := plannedIndexes(plan)
	known := func(l liveIndex) bool {
		for _, ix := range append(planned, obsolete...) { // run drops the obsolete ones itself
			if l.table == ix.table && strings.HasSuffix(l.def, ix.def) {
				return true
			}
		}
		return false
	}
	renamed, err := RenamedSources(ctx, pool, schema, plan)
	if err != nil {
		return nil, err
	}
	var out []Leftover
	slices.Sort(tables)
	for _, t := range tables {
		if !isStateTable(t) || declared[t] {
			continue
		}
		if i := slices.IndexFunc(renamed, func(r Renamed) bool { return "state_"+r.Old == t }); i >= 0 {
			l, err := st.renamedLeftover(ctx, renamed[i], tables)
			if err != nil {
				return nil, err
			}
			out = append(out, l)
			continue
		}
		out = append(out, Leftover{What: "table " + st.ident(t) + " (a source no longer declared)", Drop: "DROP TABLE " + st.ident(t)})
	}
	slices.SortFunc(live, func(a, b liveIndex) int { return strings.Compare(a.name, b.name) })
	for _, l := range live {
		if !declared[l.table] || strings.HasPrefix(l.def, "CREATE UNIQUE INDEX") || known(l) {
			continue // of a leftover table, the primary key, or read by
		}
		out = append(out, Leftover{What: "index " + st.ident(l.name) + " on " + l.table + " (a join or group_by since removed)",
			Drop: "DROP INDEX CONCURRENTLY " + st.ident(l.name)})
	}
	docs, err := st.undeclaredLeftovers(ctx, plan)
	if err != nil {
		return nil, err
	}
	return append(out, docs...), nil
}

// StateHoldsRows says whether the state of src in schema holds a row that
// is not deleted: a view first deployed over it has no document for any
// of them until one changes or a rebuild computes them (see
// stack.CompareDefinitions). A state not made yet holds none.
func StateHoldsRows(ctx context.Context, pool *pgxpool.Pool, schema string, src *projections.Source) (bool, error) {
	st := &state{schema: schema}
	var held bool
	err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+st.table(src)+` WHERE NOT deleted)`).Scan(&held)
	if isUndefinedTable(err) {
		return false, nil // made at the first start with src
	}
	if err != nil {
		return false, fmt.Errorf("look for rows in the state of %s: %w", src.Name, err)
	}
	return held, nil
}

// renamedLeftover is the state table of the source r renamed, which holds
// rows its new name's views need: no DROP, but the statement that gives
// them the new name while its own state is still empty (one a start made
// goes first). Once changes streamed since fill that state in part, a
// rename would serve the older rows of the rows changed since: a re-read
// of the source (a rebuild --from source, kafka or signal) is then the
// only way, after which the table is a leftover as any other. Nor is
// there a statement when the new name may be renamed from several
// sources (r.Among): the rows as they are now are in neither table.
func (s *state) renamedLeftover(ctx context.Context, r Renamed, tables []string) (Leftover, error) {
	l := Leftover{What: fmt.Sprintf("table %s (the rows of source %s, renamed %s: the same topic %s)", r.OldTable(), r.Old, r.Source, r.Topic), Renamed: r.Source}
	if len(r.Among) > 1 {
		l.What = fmt.Sprintf("table %s (the rows of source %s, which %s may be renamed from, as from %s: the same topic %s; "+
			"which holds the rows as they are now cannot be told, so no statement keeps them)",
			r.OldTable(), r.Old, r.Source, strings.Join(slices.DeleteFunc(slices.Clone(r.Among), func(o string) bool { return o == r.Old }), ", "), r.Topic)
		l.Among = r.Among
		return l, nil
	}
	var held bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+r.Table()+`)`).Scan(&held)
	switch {
	case isUndefinedTable(err): // made at the first start with the new name
	case err != nil:
		return l, fmt.Errorf("look for rows in %s: %w", r.Table(), err)
	case held:
		return l, nil
	}
	l.Keep = "ALTER TABLE " + r.OldTable() + " RENAME TO " + pgx.Identifier{"state_" + r.Source}.Sanitize()
	if slices.Contains(tables, "state_"+r.Source) {
		l.Keep = "BEGIN; DROP TABLE " + r.Table() + "; " + l.Keep + "; COMMIT"
	}
	return l, nil
}

// isStateTable says whether a table of projector's schema is a source's
// state: state_<source>, beside projector's own state_columns.
func isStateTable(name string) bool {
	return strings.HasPrefix(name, "state_") && name != "state_columns"
}
