package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks/postgres"
)

func newValidate(g *globals) *cobra.Command {
	var offline bool
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check the configuration and every view; report all problems with file:line:col",
		Long: `validate loads the configuration, interpolates the environment, and checks
structure and meaning: unknown keys and sources, columns, join types,
expressions, key templates. Every problem is printed as file:line:col: message.

When the query PostgreSQL answers (and --offline is not given), it also
compares each view with the table readers use now: a view that only gains
fields applies online (projector run adds the columns); one that removes or
retypes a field needs a rebuild, and is reported as an error at the view.
It compares each view with the definition its documents were computed with
(recorded at its first deployment and at each rebuild's swap) too: a
changed where, expression, join, group_by, id, table, Redis key or index
needs a rebuild, reported alike, as does a view or a sink put back after
a start without it (its documents missed the changes meanwhile); fields
only added (existing documents lack them until a rebuild), views no longer
declared (their documents stay, frozen) and a view added over rows already
in the state (it has documents only for rows changed since) are notes.
The state's tables and indexes no view of the file uses are named with the
statement that drops them; the state table of a source renamed in the file
with the one that gives its rows to the new name.
When it does not answer, these store checks are skipped with a note, so
that validate runs where only the file is at hand (CI); when it answers
refusing the connection (no such database, a wrong password), that is a
problem of the file.
"FILE: ok" comes last, when every check passed. Exit code 0 when valid,
2 otherwise (1 when a store check itself fails).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Offline, the connections' ${NAME}s need not be set (CI).
			cfg, plan, err := g.loadPlanWith(config.Options{UnsetConnections: offline})
			if err != nil {
				return err
			}
			for _, s := range cfg.DisabledSinks() {
				fmt.Fprintf(g.stdout, "note: sink %s is disabled: its store has no URL\n", s)
			}
			for _, v := range plan.Views {
				if v.Refresh == 0 && v.ReadsClock() {
					fmt.Fprintf(g.stdout, "note: view %s: its expressions call now() and it has no refresh: a document changes only when its rows do (refresh: 1h recomputes every document that often)\n", v.Name)
				}
			}
			if !offline {
				if err := checkOnline(cmd.Context(), g, cfg, plan); err != nil {
					return err
				}
			}
			// Last, and only when every check passed.
			fmt.Fprintf(g.stdout, "%s: ok (%d sources, %d views)\n", cfg.File, len(plan.Sources), len(plan.Views))
			return nil
		},
	}
	cmd.Flags().BoolVar(&offline, "offline", false, "do not compare the views with the tables in the query PostgreSQL")
	return cmd
}

// checkOnline compares the views with the PostgreSQL tables readers use,
// and with the definitions the registry recorded for their documents,
// without changing anything. A PostgreSQL that does not answer skips the
// comparison, saying so: validate also serves where only the file is at
// hand (CI).
func checkOnline(ctx context.Context, g *globals, cfg *config.Config, plan *projections.Plan) error {
	views := stack.PostgresViews(plan)
	if len(views) == 0 && len(plan.Views) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	pcfg, err := stack.PoolConfig(cfg.Stores.Postgres.URL)
	var pool *pgxpool.Pool
	if err == nil {
		pool, err = pgxpool.NewWithConfig(ctx, pcfg)
	}
	if err == nil {
		defer pool.Close()
		err = pool.Ping(ctx)
	}
	var refused *pgconn.PgError
	switch {
	case errors.As(err, &refused):
		// It answered, refusing what the file says: a database that does
		// not exist, a role or password it does not take.
		pos := cfg.ValuePos(&cfg.Stores.Postgres.URL, viewPos(cfg, ""))
		return usageError(fmt.Errorf("%s: stores.postgres.url: the query PostgreSQL refuses the connection: %s (SQLSTATE %s)", pos, refused.Message, refused.Code))
	case err != nil:
		fmt.Fprintf(g.stdout, "note: store checks skipped: the query PostgreSQL does not answer, so the views were not compared with its tables and recorded definitions (--offline skips them without trying): %v\n", err)
		return nil
	}
	reg := registry.New(pool, cfg.Stores.Postgres.Schema)
	// No registry yet means nothing was rebuilt: generation 1 everywhere.
	if snap, err := reg.Snapshot(ctx); err == nil {
		for i := range views {
			views[i].Generation = snap.Serving(views[i].Name, registry.StorePostgres)
		}
	}
	var problems []error
	var rebuilds []string
	// As at start: a column neither the file nor the recorded definition
	// declares was added online by a newer file, a note; one the recorded
	// definition declares was removed, which needs a rebuild.
	if recorded, err := reg.Definitions(ctx); err == nil {
		stack.NoteRecordedColumns(views, recorded)
	}
	for _, v := range views {
		sink, err := postgres.New(pool, []postgres.View{v})
		if err != nil {
			return usageError(err)
		}
		if err := sink.Check(ctx); err != nil {
			problems = append(problems, storeProblem{pos: viewPos(cfg, v.Name), view: v.Name, err: err})
			if errors.Is(err, postgres.ErrNeedsRebuild) {
				rebuilds = append(rebuilds, v.Name)
			}
		}
		if cols := sink.ForeignColumns()[v.Name]; len(cols) > 0 {
			fmt.Fprintf(g.stdout, "note: view %s: %s\n", v.Name, stack.AddedOnlineNote(v.Name, cols))
		}
	}
	lacking, err := projector.LackingColumns(ctx, pool, cfg.Stores.Postgres.Schema, plan)
	if err != nil {
		problems = append(problems, err)
	}
	for _, v := range plan.Views {
		if cols := lacking[v.Name]; len(cols) > 0 {
			problems = append(problems, storeProblem{pos: viewPos(cfg, v.Name), view: v.Name, store: "state",
				err: fmt.Errorf("reads %s, which the state did not keep, or kept as another declared type, when older rows were written: needs a rebuild --from source, kafka or signal", strings.Join(cols, ", "))})
			if !slices.Contains(rebuilds, v.Name) {
				rebuilds = append(rebuilds, v.Name)
			}
		}
	}
	drift, err := stack.CompareDefinitions(ctx, reg, cfg, plan)
	if err != nil {
		problems = append(problems, err)
	}
	for _, c := range drift.Changes {
		if c.NeedsRebuild() {
			lines := c.Texts(true)
			for i := range lines {
				lines[i] += ": needs a rebuild"
			}
			problems = append(problems, storeProblem{pos: viewPos(cfg, c.View), view: c.View, store: "definition",
				err: errors.New(strings.Join(lines, "\n"))})
			if !slices.Contains(rebuilds, c.View) {
				rebuilds = append(rebuilds, c.View)
			}
		}
		for _, n := range c.Texts(false) {
			fmt.Fprintf(g.stdout, "note: view %s: %s\n", c.View, n)
		}
	}
	if len(drift.Removed) > 0 {
		names := make([]string, len(drift.Removed))
		for i, u := range drift.Removed {
			names[i] = u.String()
		}
		fmt.Fprintf(g.stdout, "note: views deployed but no longer declared keep serving the documents they had, frozen (projector drops nothing): %s\n", strings.Join(names, "; "))
	}
	leftovers, err := projector.Unneeded(ctx, pool, cfg.Stores.Postgres.Schema, plan)
	if err != nil {
		problems = append(problems, fmt.Errorf("list the state's tables and indexes: %w", err))
	}
	for _, l := range leftovers {
		fmt.Fprintf(g.stdout, "note: state: %s\n", leftoverNote(l))
	}
	switch err := errors.Join(problems...); {
	case len(rebuilds) > 0:
		return usageError(fmt.Errorf("%w\nrun `projector rebuild VIEW` to apply these changes, for: %s", err, strings.Join(rebuilds, ", ")))
	case err != nil:
		return &exitError{code: ExitFailure, err: err}
	}
	if len(views) > 0 {
		fmt.Fprintln(g.stdout, "tables: every view applies online")
	}
	return nil
}

// leftoverNote says what to do with a leftover of the state: drop it once
// no instance uses it, or, for the rows of a source renamed, keep them.
func leftoverNote(l projector.Leftover) string {
	switch {
	case l.Renamed == "":
		return fmt.Sprintf("%s is used by no view of this file; once no instance runs a file that uses it: %s;", l.What, l.Drop)
	case len(l.Among) > 1:
		return fmt.Sprintf("%s: the views of %s miss these rows until rebuilt --from source, kafka or signal", l.What, l.Renamed)
	case l.Keep != "":
		return fmt.Sprintf("%s: the views of %s miss these rows until rebuilt --from source, kafka or signal; to keep them instead, "+
			"stop every instance and run %s; then start them with this file", l.What, l.Renamed, l.Keep)
	}
	return fmt.Sprintf("%s: the state of %s holds only the rows changed since, so its views miss the others until rebuilt --from source, kafka or signal "+
		"(it is a leftover once that rebuild read the source again)", l.What, l.Renamed)
}

// storeProblem is what the store check found wrong with a view, told as
// the configuration's errors are: at the view's place in the file.
type storeProblem struct {
	pos   config.Pos
	view  string
	store string // what the view was compared with; "" is postgres
	err   error
}

// Error gives every problem a line of its own, without the prefixes the
// sink's Check puts before them (the line says the view already).
func (p storeProblem) Error() string {
	msg := strings.TrimPrefix(p.err.Error(), "postgres sink: check: ")
	msg = strings.TrimPrefix(msg, fmt.Sprintf("view %q: ", p.view))
	store := p.store
	if store == "" {
		store = "postgres"
	}
	var b strings.Builder
	for i, line := range strings.Split(msg, "\n") {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%s: view %q: %s: %s", p.pos, p.view, store, line)
	}
	return b.String()
}

func (p storeProblem) Unwrap() error { return p.err }

// viewPos is where the view is declared, or the file's start.
func viewPos(cfg *config.Config, view string) config.Pos {
	for _, e := range cfg.Views {
		if e.Key == view {
			return e.KeyPos
		}
	}
	return config.Pos{File: cfg.File, Line: 1, Col: 1}
}
