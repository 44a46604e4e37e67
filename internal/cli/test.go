package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/projectorhq/projector/internal/projtest"
)

func newTest(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "test FILE|DIR...",
		Short: "Run projection test cases without external services",
		Long: `test runs YAML test cases against the projection engine, in memory: each case
gives change records (Debezium records, or short { source, op, after }
changes) and expects view documents (subsets of their fields) or their
absence. A directory runs its *.yaml files.

Exit status: 0 when every case passes, 1 when a case fails, 2 for a
malformed test file.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			files, err := testFiles(args)
			if err != nil {
				return usageError(err)
			}
			passed, failed := 0, 0
			for _, path := range files {
				f, err := projtest.Parse(path)
				if err != nil {
					return usageError(err)
				}
				res, err := projtest.Run(cmd.Context(), f)
				if errors.Is(err, projtest.ErrMalformed) {
					return usageError(err)
				}
				if err != nil {
					return &exitError{code: ExitFailure, err: fmt.Errorf("%s: %w", path, err)}
				}
				for _, fl := range projtest.Sorted(res.Failures) {
					fmt.Fprintln(g.stdout, fl)
				}
				passed += res.Passed
				failed += res.Failed
			}
			fmt.Fprintf(g.stdout, "%d passed, %d failed\n", passed, failed)
			if failed > 0 {
				return &exitError{code: ExitFailure, err: errors.New("")}
			}
			return nil
		},
	}
}

// testFiles expands directories to their YAML files.
func testFiles(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, a)
			continue
		}
		for _, pat := range []string{"*.yaml", "*.yml"} {
			m, err := filepath.Glob(filepath.Join(a, pat))
			if err != nil {
				return nil, err
			}
			out = append(out, m...)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no test files")
	}
	return out, nil
}
