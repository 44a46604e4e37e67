package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/projectorhq/projector/projections"
)

func newValidate(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "validate",
		Short: "Check the configuration and every view; report all problems with file:line:col",
		Long: `validate loads the configuration, interpolates the environment, and checks
structure and meaning: unknown keys and sources, columns, join types,
expressions, key templates. Every problem is printed as file:line:col: message.
Exit code 0 when valid, 2 otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			plan, err := projections.Compile(cfg)
			if err != nil {
				return usageError(err)
			}
			fmt.Fprintf(g.stdout, "%s: ok (%d sources, %d views)\n", cfg.File, len(plan.Sources), len(plan.Views))
			for _, s := range cfg.DisabledSinks() {
				fmt.Fprintf(g.stdout, "note: sink %s is disabled: its store has no URL\n", s)
			}
			return nil
		},
	}
}
