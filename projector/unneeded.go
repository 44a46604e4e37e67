package projector

import (
	"context"
	"slices"
	"strings"

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
	Drop string // the statement that removes it
}

// Unneeded lists the leftovers of plan's state in schema: what `projector
// validate` tells an operator to drop once no instance needs it. Each
// index slows every write of its table, each table holds its source's rows.
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
	var out []Leftover
	slices.Sort(tables)
	for _, t := range tables {
		if isStateTable(t) && !declared[t] {
			out = append(out, Leftover{What: "table " + st.ident(t) + " (a source no longer declared)", Drop: "DROP TABLE " + st.ident(t)})
		}
	}
	slices.SortFunc(live, func(a, b liveIndex) int { return strings.Compare(a.name, b.name) })
	for _, l := range live {
		if !declared[l.table] || strings.HasPrefix(l.def, "CREATE UNIQUE INDEX") || known(l) {
			continue // of a leftover table, the primary key, or read by
		}
		out = append(out, Leftover{What: "index " + st.ident(l.name) + " on " + l.table + " (a join or group_by since removed)",
			Drop: "DROP INDEX CONCURRENTLY " + st.ident(l.name)})
	}
	return out, nil
}

// isStateTable says whether a table of projector's schema is a source's
// state: state_<source>, beside projector's own state_columns.
func isStateTable(name string) bool {
	return strings.HasPrefix(name, "state_") && name != "state_columns"
}
