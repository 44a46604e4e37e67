package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/projections"
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
retypes a field needs a rebuild, and is reported as an error.
Exit code 0 when valid, 2 otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, plan, err := g.loadPlan()
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "%s: ok (%d sources, %d views)\n", cfg.File, len(plan.Sources), len(plan.Views))
			for _, s := range cfg.DisabledSinks() {
				fmt.Fprintf(g.stdout, "note: sink %s is disabled: its store has no URL\n", s)
			}
			if offline {
				return nil
			}
			return checkOnline(cmd.Context(), g, cfg, plan)
		},
	}
	cmd.Flags().BoolVar(&offline, "offline", false, "do not compare the views with the tables in the query PostgreSQL")
	return cmd
}

// checkOnline compares the views with the PostgreSQL tables readers use,
// without changing anything.
func checkOnline(ctx context.Context, g *globals, cfg *config.Config, plan *projections.Plan) error {
	views := stack.PostgresViews(plan)
	if len(views) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, cfg.Stores.Postgres.URL)
	if err == nil {
		defer pool.Close()
		err = pool.Ping(ctx)
	}
	if err != nil {
		fmt.Fprintln(g.stdout, "note: the query PostgreSQL does not answer: tables not compared (--offline to skip)")
		return nil
	}
	// No registry yet means nothing was rebuilt: generation 1 everywhere.
	if snap, err := registry.New(pool, cfg.Stores.Postgres.Schema).Snapshot(ctx); err == nil {
		for i := range views {
			views[i].Generation = snap.Serving(views[i].Name, registry.StorePostgres)
		}
	}
	sink, err := postgres.New(pool, views)
	if err != nil {
		return usageError(err)
	}
	if err := sink.Check(ctx); err != nil {
		if errors.Is(err, postgres.ErrNeedsRebuild) {
			return usageError(fmt.Errorf("%w\nrun `projector rebuild VIEW` to apply these changes", err))
		}
		return &exitError{code: ExitFailure, err: err}
	}
	fmt.Fprintln(g.stdout, "tables: every view applies online")
	return nil
}
