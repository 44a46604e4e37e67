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

// A source renamed in the configuration (the same topic) starts from a
// new, empty state table (state_<name>), while the rows stay in the old
// source's: every view reading it misses them until its rows are read
// again from the source, and a rebuild from the state alone would drop
// their documents. The rename is told at the first start that finds the
// new state empty and the old one, no longer declared and recorded
// reading the same topic, holding rows; state_columns.renamed_from keeps
// it from then on (renamed_among, when several), though changes streamed
// since fill the new state in part, until a re-read of the source
// (Reread) or until the old table no longer holds rows (renamed into
// place, or dropped).
//
// A re-read of a source makes the state of every source no longer
// declared that read its topic out of date (state_columns.superseded_by):
// renamed again, the source was renamed from the one re-read, not from
// the one before. When several sources no longer declared could still be
// the one renamed (renamed twice before a re-read), which holds the rows
// as they are now cannot be told: the rename is told, but no statement
// keeps either's rows.

// Renamed is a source read from a new, empty state table while the state
// of Old, no longer declared and recorded reading the same Topic, holds
// the rows.
type Renamed struct {
	Source, Old, Topic string
	// Among lists, when Old is one of several sources Source may be
	// renamed from, all of them (Old among them), most recently recorded
	// first: no statement tells which rows to keep.
	Among  []string
	schema string
}

// OldTable is the old source's state table.
func (r Renamed) OldTable() string { return pgx.Identifier{r.schema, "state_" + r.Old}.Sanitize() }

// Table is the source's own state table.
func (r Renamed) Table() string { return pgx.Identifier{r.schema, "state_" + r.Source}.Sanitize() }

// Rename is the statement that makes the old source's state table the
// source's; Among set, it keeps rows that may be out of date.
func (r Renamed) Rename() string {
	return "ALTER TABLE " + r.OldTable() + " RENAME TO " + pgx.Identifier{"state_" + r.Source}.Sanitize()
}

// Warning is what a start logs of the rename.
func (r Renamed) Warning() string {
	if len(r.Among) > 1 {
		return fmt.Sprintf("source %s reads topic %s, whose rows the states of sources %s (no longer declared) hold: %s started empty, "+
			"so its views miss those rows until they are rebuilt --from source, kafka or signal; which of those states holds the rows as they are now "+
			"cannot be told (the source was renamed again before its rows were read anew), so none should be renamed in its place",
			r.Source, r.Topic, strings.Join(r.Among, ", "), r.Source)
	}
	return fmt.Sprintf("source %s reads topic %s, whose rows the state of source %s (no longer declared) holds: %s started empty, "+
		"so its views miss those rows until they are rebuilt --from source, kafka or signal; to keep the rows instead, stop every instance and, "+
		"while %s is still empty, DROP TABLE %s; %s", r.Source, r.Topic, r.Old, r.Source, r.Table(), r.Table(), r.Rename())
}

// renameWarnings are the warnings of renamed, one per source renamed.
func renameWarnings(renamed []Renamed) []string {
	var out []string
	for _, r := range renamed {
		if w := r.Warning(); !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out
}

// renamedFrom lists the sources renamed says source was renamed from.
func renamedFrom(renamed []Renamed, source string) []string {
	var out []string
	for _, r := range renamed {
		if r.Source == source {
			out = append(out, r.Old)
		}
	}
	return out
}

// renamedAmong is Among of the renames of source: the sources it may be
// renamed from, when several.
func renamedAmong(renamed []Renamed, source string) []string {
	if i := slices.IndexFunc(renamed, func(r Renamed) bool { return r.Source == source }); i >= 0 {
		return renamed[i].Among
	}
	return nil
}

// RenamedSources lists the sources of plan renamed in the configuration
// (see Renamed), without an engine and without writing anything: what a
// start with plan would warn of, for `projector validate`.
func RenamedSources(ctx context.Context, pool *pgxpool.Pool, schema string, plan *projections.Plan) ([]Renamed, error) {
	st := &state{pool: pool, schema: schema}
	out, err := st.renamedSources(ctx, plan, plan.Sources)
	if isUndefinedTable(err) {
		return nil, nil // never started: nothing was recorded
	}
	return out, err
}

// Renames lists those of sources renamed in the configuration (see
// Renamed): a view reading one lacks rows its state does not hold.
func (e *Engine) Renames(ctx context.Context, sources []*projections.Source) ([]Renamed, error) {
	st, ok := e.state.(*state)
	if !ok {
		return nil, nil
	}
	return st.renamedSources(ctx, e.plan, sources)
}

// renamedSources finds, among sources of plan, those renamed: recorded so
// at a start before, or whose state is empty while sources plan no longer
// declares, recorded reading the same topic and not superseded, hold
// rows.
func (s *state) renamedSources(ctx context.Context, plan *projections.Plan, sources []*projections.Source) ([]Renamed, error) {
	declared := make([]string, len(plan.Sources))
	for i, src := range plan.Sources {
		declared[i] = src.Name
	}
	var out []Renamed
	for _, src := range sources {
		olds, recorded, err := s.renameCandidates(ctx, src, declared)
		if err != nil {
			return nil, fmt.Errorf("look for a source renamed %s: %w", src.Name, err)
		}
		var holding []string
		for _, old := range olds {
			held, err := s.anyRow(ctx, pgx.Identifier{s.schema, "state_" + old}.Sanitize())
			if err != nil {
				return nil, fmt.Errorf("look for a source renamed %s: %w", src.Name, err)
			}
			if held {
				holding = append(holding, old)
			}
		}
		// Several recorded stay several: that the rows of one are gone
		// since does not make the other's current.
		among := holding
		if recorded {
			among = olds
		}
		for _, old := range holding {
			r := Renamed{Source: src.Name, Old: old, Topic: src.Topic, schema: s.schema}
			if len(among) > 1 {
				r.Among = among
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// renameCandidates lists the sources src may be the rename of: those
// recorded (renamed_from, or renamed_among when several), or, while src's
// state is empty, every source not declared that was recorded reading its
// topic and that no re-read superseded, most recently recorded first.
// The columns are read through to_jsonb, so that a table an earlier
// version created without them reads as recording none.
func (s *state) renameCandidates(ctx context.Context, src *projections.Source, declared []string) (olds []string, recorded bool, err error) {
	own, _, err := s.record(ctx, s.pool, src.Name, false)
	if err != nil {
		return nil, false, err
	}
	if own.RenamedFrom != nil {
		olds = own.RenamedAmong
		if len(olds) == 0 {
			olds = []string{*own.RenamedFrom}
		}
		olds = slices.DeleteFunc(olds, func(o string) bool { return slices.Contains(declared, o) })
		if len(olds) > 0 {
			return olds, true, nil
		}
	}
	held, err := s.anyRow(ctx, s.table(src))
	if err != nil || held {
		return nil, false, err
	}
	rows, err := s.pool.Query(ctx, `SELECT source FROM `+s.ident("state_columns")+` c
		WHERE topic = $1 AND source <> ALL($2::text[]) AND to_jsonb(c)->>'superseded_by' IS NULL
		ORDER BY updated_at DESC, source`, src.Topic, declared)
	if err != nil {
		return nil, false, err
	}
	olds, err = pgx.CollectRows(rows, pgx.RowTo[string])
	return olds, false, err
}

// anyRow says whether a state table holds any row, a deleted one
// included; one that does not exist holds none.
func (s *state) anyRow(ctx context.Context, table string) (bool, error) {
	var held bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+table+`)`).Scan(&held)
	if isUndefinedTable(err) {
		return false, nil
	}
	return held, err
}
