package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/projectorhq/projector/internal/projtest"
)

func newTest(g *globals) *cobra.Command {
	var printDocs bool
	cmd := &cobra.Command{
		Use:   "test FILE|DIR...",
		Short: "Run projection test cases without external services",
		Long: `test runs YAML test cases against the projection engine, in memory: each case
gives change records (Debezium records, or short { source, op, after }
changes) and expects view documents (subsets of their fields) or their
absence. A directory runs its *.yaml and *.yml files that have config: or
cases: at their top, and skips the others (a projector config beside them).
The configuration's connection settings (kafka, stores, admin) are not
checked, nor their variables needed.

A failure is printed at its file:line, followed by the document the
engine computed, as YAML to paste into the case. --print prints every
case's documents, as expect: and absent: sections, to start a case from;
with it, a case may expect nothing yet (it neither passes nor fails).

Every file is run, and a summary printed. Exit status: 0 when every case
passes, 1 when a case fails, 2 when a test file is malformed.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			files, err := testFiles(args)
			if err != nil {
				return usageError(err)
			}
			passed, failed, malformed, broken, drafts := 0, 0, 0, 0, 0
			for _, path := range files {
				res, err := runTestFile(cmd, path, printDocs)
				switch {
				case errors.Is(err, projtest.ErrMalformed):
					malformed++
					fmt.Fprintln(g.stderr, "projector:", err)
					continue
				case err != nil:
					broken++
					fmt.Fprintf(g.stderr, "projector: %s: %v\n", path, err)
					continue
				}
				if printDocs {
					for _, c := range res.Cases {
						fmt.Fprintln(g.stdout, c)
					}
				}
				for _, fl := range projtest.Sorted(res.Failures) {
					fmt.Fprintln(g.stdout, fl)
				}
				passed += res.Passed
				failed += res.Failed
				drafts += res.Drafts
			}
			summary := fmt.Sprintf("%d passed, %d failed", passed, failed)
			if drafts > 0 {
				summary += fmt.Sprintf(", %d %s expecting nothing yet", drafts, plural(drafts, "case", "cases"))
			}
			if malformed > 0 {
				summary += fmt.Sprintf(", %d malformed %s not run", malformed, plural(malformed, "file", "files"))
			}
			if broken > 0 {
				summary += fmt.Sprintf(", %d %s could not run", broken, plural(broken, "file", "files"))
			}
			fmt.Fprintln(g.stdout, summary)
			switch {
			case malformed > 0:
				return &exitError{code: ExitUsage, err: errors.New("")}
			case failed > 0 || broken > 0:
				return &exitError{code: ExitFailure, err: errors.New("")}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&printDocs, "print", false, "print the documents each case leaves in the views")
	return cmd
}

func runTestFile(cmd *cobra.Command, path string, drafts bool) (*projtest.Result, error) {
	parse := projtest.Parse
	if drafts {
		parse = projtest.ParseDrafts // printed to start their expectations from
	}
	f, err := parse(path)
	if err != nil {
		return nil, err
	}
	return projtest.Run(cmd.Context(), f)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// testFiles expands directories to their test files: the YAML files with
// config: or cases: at their top.
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
		// Listed, not globbed: a directory's name may hold a glob
		// character ("[id]").
		entries, err := os.ReadDir(a)
		if err != nil {
			return nil, err
		}
		for _, ext := range []string{".yaml", ".yml"} {
			for _, e := range entries {
				path := filepath.Join(a, e.Name())
				if strings.HasSuffix(e.Name(), ext) && projtest.IsTestFile(path) {
					out = append(out, path)
				}
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no test files (YAML files with config: and cases:)")
	}
	return out, nil
}
