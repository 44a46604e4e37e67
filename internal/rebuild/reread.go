package rebuild

// What a view's documents are computed from, the state, may lack what the
// file now reads: columns older rows did not keep or kept as another
// declared type (projector.Engine.MissingColumns), and the rows of a
// source renamed in the file (projector.Renamed). A rebuild from the state
// refuses such a view; one that reads the sources again (--from source,
// kafka or signal) records what the rows hold once it is done, and fails
// when they still lack a column, rather than serve it null.

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/projector"
)

// stateLacks refuses a rebuild of v from the state alone when its state
// lacks columns or rows v reads.
func (e *Env) stateLacks(ctx context.Context, v *projections.View) error {
	if cols := e.Engine.MissingColumns(v); len(cols) > 0 {
		return fmt.Errorf("%w: view %s reads %s, which the state did not keep, or kept as another declared type, when older rows were written: "+
			"rebuild it --from source, kafka or signal", ErrIncompleteState, v.Name, strings.Join(cols, ", "))
	}
	renamed, err := e.Engine.Renames(ctx, viewSources(v))
	if err != nil {
		return err
	}
	switch {
	case slices.ContainsFunc(renamed, func(r projector.Renamed) bool { return len(r.Among) > 1 }):
		// Renamed from one of several sources: which old table holds the
		// rows as they are now cannot be told, so no statement keeps them.
		return fmt.Errorf("%w: view %s %s, so a rebuild from the state would drop their documents: rebuild it --from source, kafka or signal, "+
			"which reads the rows again (no old table can be told to hold them as they are now)",
			ErrRenamedSource, v.Name, renamedText(renamed))
	case len(renamed) > 0:
		return fmt.Errorf("%w: view %s %s, so a rebuild from the state would drop their documents: rebuild it --from source, kafka or signal, "+
			"which reads the rows again; or keep the old rows: with every instance stopped and the new table still empty, %s",
			ErrRenamedSource, v.Name, renamedText(renamed), renameStatements(renamed))
	}
	return nil
}

// rereadPartly refuses a re-read that leaves some rows of the view's
// sources unread (why says which) when the state lacks columns or rows
// the view reads: the rows not read again would be served without them.
// remedy names the rebuilds that read every row.
func (r *run) rereadPartly(ctx context.Context, why, remedy string) error {
	v := r.env.Plan.View(r.gen.View)
	if cols := r.env.Engine.MissingColumns(v); len(cols) > 0 {
		return fmt.Errorf("%w: view %s reads %s, which the state did not keep, or kept as another declared type, when older rows were written, and %s: "+
			"the rows not read again cannot be filled; rebuild it %s", ErrIncompleteState, v.Name, strings.Join(cols, ", "), why, remedy)
	}
	renamed, err := r.env.Engine.Renames(ctx, viewSources(v))
	if err != nil {
		return err
	}
	if len(renamed) > 0 {
		return fmt.Errorf("%w: view %s %s, and %s: the rows not read again would be missing; rebuild it %s",
			ErrRenamedSource, v.Name, renamedText(renamed), why, remedy)
	}
	return nil
}

// renamedText says which sources v reads were renamed.
func renamedText(renamed []projector.Renamed) string {
	parts := make([]string, len(renamed))
	for i, rn := range renamed {
		parts[i] = fmt.Sprintf("reads source %s, renamed from %s in the file (topic %s): its state %s started empty and lacks the rows %s holds",
			rn.Source, rn.Old, rn.Topic, rn.Table(), rn.OldTable())
	}
	return strings.Join(parts, "; ")
}

// renameStatements are the statements that put the old sources' state
// tables in place of the new, empty ones.
func renameStatements(renamed []projector.Renamed) string {
	parts := make([]string, len(renamed))
	for i, rn := range renamed {
		parts[i] = "DROP TABLE " + rn.Table() + "; " + rn.Rename()
	}
	return strings.Join(parts, "; ")
}

// reread reads the view's sources again into the state, and records the
// columns their rows then hold.
func (r *run) reread(ctx context.Context) error {
	if err := r.env.Pool.QueryRow(ctx, `SELECT now()`).Scan(&r.since); err != nil {
		return fmt.Errorf("view %s: read the clock: %w", r.gen.View, err)
	}
	r.whole = true
	var err error
	switch r.gen.Source {
	case registry.SourceKafka:
		err = r.replay(ctx)
	case registry.SourceSource:
		err = r.resnapshot(ctx)
	case registry.SourceSignal:
		err = r.incrementalSnapshot(ctx)
	}
	if err != nil || !r.whole {
		return err
	}
	return r.recordReread(ctx)
}

// recordReread records the columns the re-read filled in every live row of
// the view's sources (see projector.Engine.RereadSince). When some rows
// still lack a column, the generation is discarded: filled, it would serve
// the column null, or as an earlier declared type gave it.
func (r *run) recordReread(ctx context.Context) error {
	v := r.env.Plan.View(r.gen.View)
	unfilled, err := r.env.Engine.RereadSince(ctx, viewSources(v), r.since, r.gen.Source == registry.SourceKafka)
	if err != nil || len(unfilled) == 0 {
		return err
	}
	cause := fmt.Errorf("%w: view %s reads %s, which the re-read (--from %s) did not fill: %s; rebuild it %s",
		ErrIncompleteState, v.Name, unfilledText(unfilled), r.gen.Source, unfilledWhy(r.gen.Source), unfilledRemedy(r.gen.Source))
	return r.env.discard(context.WithoutCancel(ctx), r.opts, r.gen, "would serve those columns null", cause)
}

// unfilledText lists the columns with the count of rows lacking each.
func unfilledText(unfilled []projector.Unfilled) string {
	parts := make([]string, len(unfilled))
	for i, u := range unfilled {
		parts[i] = fmt.Sprintf("%s.%s (%d live rows lack it)", u.Source, u.Column, u.Rows)
	}
	return strings.Join(parts, ", ")
}

// unfilledWhy says what leaves rows unfilled by a re-read from source.
func unfilledWhy(source string) string {
	switch source {
	case registry.SourceKafka:
		return "a row whose records are all older than the row the state holds (written by a rebuild --from source) is not written again, " +
			"and one whose newest record carries the column as unchanged (a TOASTed column, a MongoDB update) keeps what the state held"
	case registry.SourceSignal:
		return "a row whose snapshot read is older than the row the state holds (written by a rebuild --from source) is not written again"
	}
	return "a row that could not be projected (a dead letter) is not written again"
}

// unfilledRemedy names the rebuilds that fill what source did not.
func unfilledRemedy(source string) string {
	if source == registry.SourceKafka {
		return "--from source (PostgreSQL), or --from signal"
	}
	return "--from source"
}
