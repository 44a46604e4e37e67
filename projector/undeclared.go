package projector

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/projectorhq/projector/projections"
)

// The pending docs and the docs set aside for a conflict of views this
// instance's file does not declare. During a rolling deploy that adds a
// view (or rolls back one that dropped it) instances run different files,
// and one that recovers another's pending row, or takes the conflicts any
// instance set aside, cannot compute the docs of a view it does not
// declare. It leaves them in the state, neither written nor forgotten, for
// an instance that declares the view: the next to start or be assigned
// partitions recovers the pending ones, the next batch of one takes the
// conflicts.
//
// Those of a view no instance declares any more stay until an operator
// deletes them, as `projector validate` says (undeclaredLeftovers): an
// instance cannot tell a view another one still declares (a deploy under
// way, another deployment sharing the schema) from one gone for good, and
// they do not grow: only an instance that declares a view records its docs.

// declaredViews names the views of this instance's file.
func (e *Engine) declaredViews() []string {
	names := make([]string, len(e.plan.Views))
	for i, v := range e.plan.Views {
		names[i] = v.Name
	}
	return names
}

// byDeclared parts docs into those of views this instance declares and the
// others, each in their order.
func (e *Engine) byDeclared(docs []pendingDoc) (declared, undeclared []pendingDoc) {
	for _, d := range docs {
		if e.plan.View(d.View) != nil {
			declared = append(declared, d)
		} else {
			undeclared = append(undeclared, d)
		}
	}
	return declared, undeclared
}

// recoverDocs writes the docs of the pending row id of views this instance
// declares, a chunk at a time after the first *done of them (see
// writeChunks), and forgets the row, but for the docs of views it does not
// declare: those stay pending (leaveUndeclared).
func (e *Engine) recoverDocs(ctx context.Context, id int64, done *int, settle func(context.Context, []Refusal) error) error {
	docs, err := e.state.pending(ctx, []int64{id})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	declared, undeclared := e.byDeclared(docs)
	if err := e.writeChunks(ctx, declared, done, settle); err != nil {
		return err
	}
	if len(undeclared) > 0 {
		return e.leaveUndeclared(ctx, id, len(declared) > 0, undeclared)
	}
	if err := e.state.forgetPending(ctx, []int64{id}); err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	return nil
}

// leaveUndeclared keeps pending the docs of the row id of views this
// instance does not declare: the row as it is when it holds only those,
// or a row of their own, the other docs being written (mixed). An instance
// that stops in between leaves both rows, and two recovering the row at
// once both keep them: an instance that declares the view then writes
// its docs twice, none lost.
func (e *Engine) leaveUndeclared(ctx context.Context, id int64, mixed bool, undeclared []pendingDoc) error {
	e.log.Warn("leaving pending documents of views this instance's file does not declare to an instance that declares them (`projector validate` names those of views no instance declares any more)",
		"views", viewsOf(undeclared), "docs", len(undeclared))
	if !mixed {
		return nil
	}
	err := e.state.update(ctx, func(tx stateTx) error {
		_, err := tx.insertPending(ctx, undeclared)
		return err
	})
	if err == nil {
		err = e.state.forgetPending(ctx, []int64{id})
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	return nil
}

// viewsOf names the views of docs, sorted, each once.
func viewsOf(docs []pendingDoc) []string {
	var views []string
	for _, d := range docs {
		views = append(views, d.View)
	}
	slices.Sort(views)
	return slices.Compact(views)
}

// undeclaredLeftovers lists the pending docs and the docs set aside for a
// conflict of views plan does not declare, each list with the statement
// that deletes them, for `projector validate` to name beside the other
// leftovers (see Unneeded): to run once no instance runs a file that
// declares those views. The pending rows that also hold docs of declared
// views are left out: the next recovery writes those and keeps the others
// in a row of their own, which a later validate names.
func (s *state) undeclaredLeftovers(ctx context.Context, plan *projections.Plan) ([]Leftover, error) {
	declared := make([]string, len(plan.Views))
	for i, v := range plan.Views {
		declared[i] = v.Name
	}
	var out []Leftover
	pending, err := s.countUndeclared(ctx, "pending", `SELECT view, count(*) FROM (
			SELECT view, bool_or(view = ANY($1)) OVER (PARTITION BY id) AS mixed FROM `+s.ident("pending")+`) p
		WHERE NOT mixed GROUP BY view ORDER BY view`, declared)
	if err != nil {
		return nil, err
	}
	if len(pending) > 0 {
		out = append(out, Leftover{What: "pending list of " + pending.String(),
			Drop: `DELETE FROM ` + s.ident("pending_batches") + ` WHERE id IN (SELECT id FROM ` + s.ident("pending") +
				` GROUP BY id HAVING bool_and(view IN (` + sqlTexts(pending.views()) + `)))`})
	}
	conflicts, err := s.countUndeclared(ctx, "conflicts", `SELECT view, count(*) FROM `+s.ident("conflicts")+`
		WHERE NOT view = ANY($1) GROUP BY view ORDER BY view`, declared)
	if err != nil {
		return nil, err
	}
	if len(conflicts) > 0 {
		out = append(out, Leftover{What: "conflict list of " + conflicts.String(),
			Drop: `DELETE FROM ` + s.ident("conflicts") + ` WHERE view IN (` + sqlTexts(conflicts.views()) + `)`})
	}
	return out, nil
}

// viewDocs counts the docs of some views, in the order of their names.
type viewDocs []viewCount

type viewCount struct {
	view string
	docs int64
}

func (c viewDocs) views() []string {
	names := make([]string, len(c))
	for i, v := range c {
		names[i] = v.view
	}
	return names
}

// String is "a (2 documents), b (1 document)".
func (c viewDocs) String() string {
	parts := make([]string, len(c))
	for i, v := range c {
		unit := "documents"
		if v.docs == 1 {
			unit = "document"
		}
		parts[i] = fmt.Sprintf("%s (%d %s)", v.view, v.docs, unit)
	}
	return strings.Join(parts, ", ")
}

// countUndeclared runs query (view, count per view, of the views not in
// declared) on the relation named: nothing when the state has no such
// relation (never migrated).
func (s *state) countUndeclared(ctx context.Context, relation, query string, declared []string) (viewDocs, error) {
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, s.ident(relation)).Scan(&exists); err != nil || !exists {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, query, declared)
	if err != nil {
		return nil, fmt.Errorf("list the %s of views no longer declared: %w", relation, err)
	}
	counts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (viewCount, error) {
		var c viewCount
		return c, r.Scan(&c.view, &c.docs)
	})
	if err != nil {
		return nil, fmt.Errorf("list the %s of views no longer declared: %w", relation, err)
	}
	return counts, nil
}

// sqlTexts is names as a list of SQL string literals.
func sqlTexts(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = "'" + strings.ReplaceAll(n, "'", "''") + "'"
	}
	return strings.Join(quoted, ", ")
}
