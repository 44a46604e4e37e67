package projector

import (
	"context"
	"errors"
	"fmt"
	"slices"

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
// it from then on, though changes streamed since fill the new state in
// part, until a re-read of the source (Reread) or until the old table no
// longer holds rows (renamed into place, or dropped).

// Renamed is a source read from a new, empty state table while the state
// of Old, no longer declared and recorded reading the same Topic, holds
// the rows.
type Renamed struct {
	Source, Old, Topic string
	schema             string
}

// OldTable is the old source's state table.
func (r Renamed) OldTable() string { return pgx.Identifier{r.schema, "state_" + r.Old}.Sanitize() }

// Table is the source's own state table.
func (r Renamed) Table() string { return pgx.Identifier{r.schema, "state_" + r.Source}.Sanitize() }

// Rename is the statement that makes the old source's state table the
// source's.
func (r Renamed) Rename() string {
	return "ALTER TABLE " + r.OldTable() + " RENAME TO " + pgx.Identifier{"state_" + r.Source}.Sanitize()
}

// Warning is what a start logs of the rename.
func (r Renamed) Warning() string {
	return fmt.Sprintf("source %s reads topic %s, whose rows the state of source %s (no longer declared) holds: %s started empty, "+
		"so its views miss those rows until they are rebuilt --from source, kafka or signal; to keep the rows instead, stop every instance and, "+
		"while %s is still empty, DROP TABLE %s; %s", r.Source, r.Topic, r.Old, r.Source, r.Table(), r.Table(), r.Rename())
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
// at a start before, or whose state is empty while a source plan no
// longer declares, recorded reading the same topic, holds rows.
func (s *state) renamedSources(ctx context.Context, plan *projections.Plan, sources []*projections.Source) ([]Renamed, error) {
	declared := make([]string, len(plan.Sources))
	for i, src := range plan.Sources {
		declared[i] = src.Name
	}
	var out []Renamed
	for _, src := range sources {
		olds, err := s.renameCandidates(ctx, src, declared)
		if err != nil {
			return nil, fmt.Errorf("look for a source renamed %s: %w", src.Name, err)
		}
		for _, old := range olds {
			held, err := s.anyRow(ctx, pgx.Identifier{s.schema, "state_" + old}.Sanitize())
			if err != nil {
				return nil, fmt.Errorf("look for a source renamed %s: %w", src.Name, err)
			}
			if held {
				out = append(out, Renamed{Source: src.Name, Old: old, Topic: src.Topic, schema: s.schema})
			}
		}
	}
	return out, nil
}

// renameCandidates lists the sources src may be the rename of: the one
// recorded (renamed_from, read through to_jsonb so that a table an earlier
// version created without the column reads as none), and while src's state
// is empty, every source not declared that was recorded reading its topic.
func (s *state) renameCandidates(ctx context.Context, src *projections.Source, declared []string) ([]string, error) {
	var recorded *string
	err := s.pool.QueryRow(ctx, `SELECT to_jsonb(c)->>'renamed_from' FROM `+s.ident("state_columns")+` c WHERE source = $1`, src.Name).Scan(&recorded)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, err
	}
	var out []string
	if recorded != nil && !slices.Contains(declared, *recorded) {
		out = append(out, *recorded)
	}
	held, err := s.anyRow(ctx, s.table(src))
	if err != nil || held {
		return out, err
	}
	rows, err := s.pool.Query(ctx, `SELECT source FROM `+s.ident("state_columns")+`
		WHERE topic = $1 AND source <> ALL($2::text[]) ORDER BY source`, src.Topic, declared)
	if err != nil {
		return nil, err
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	for _, o := range found {
		if !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out, nil
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
