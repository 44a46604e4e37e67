// Package cli is projector's command line: it parses flags, loads the
// configuration and wires the engine, sinks and servers together.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projections"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitFailure = 1 // a runtime failure
	ExitUsage   = 2 // bad usage or an invalid configuration
)

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageError(err error) error { return &exitError{code: ExitUsage, err: err} }

// Main runs the command line and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root, g := newRoot(stdout, stderr)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			if g.jsonLog != nil {
				// Once the command logs JSON, the line saying why it
				// exits is JSON too, for the pipeline reading its logs.
				g.jsonLog.Error("exiting", "err", withPrefix(ee.err), "exit_code", ee.code)
			} else {
				fmt.Fprintln(stderr, withPrefix(ee.err))
			}
		}
		return ee.code
	}
	// cobra's own errors (unknown flag, wrong arguments) are usage errors.
	fmt.Fprintln(stderr, "projector:", err)
	if strings.Contains(err.Error(), "unknown") || strings.Contains(err.Error(), "arg") || strings.Contains(err.Error(), "flag") {
		return ExitUsage
	}
	return ExitFailure
}

type globals struct {
	config string
	stdout io.Writer
	stderr io.Writer
	// jsonLog is the command's logger once it logs JSON (log.format:
	// json): Main writes the error it exits with through it.
	jsonLog *slog.Logger
}

func newRoot(stdout, stderr io.Writer) (*cobra.Command, *globals) {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "projector",
		Short: "Turn Debezium change streams into query-ready read models",
		Long: `projector consumes the Debezium topics of PostgreSQL and MongoDB connectors and
keeps denormalized views (declared in YAML) up to date in PostgreSQL, Redis
and Elasticsearch.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVarP(&g.config, "config", "c", "projector.yaml", "configuration file")
	root.AddCommand(newRun(g), newValidate(g), newDemo(g), newVersion(g), newInspect(g), newRebuild(g), newGenerations(g), newServe(g), newQuery(g), newTest(g))
	return root, g
}

// load reads and compiles the configuration; any problem is a usage error
// listing every problem with its file:line:col.
func (g *globals) load() (*config.Config, error) { return g.loadWith(config.Options{}) }

// loadWith is load reading the file with opts.
func (g *globals) loadWith(opts config.Options) (*config.Config, error) {
	data, err := os.ReadFile(g.config)
	if err != nil {
		return nil, usageError(fmt.Errorf("config: %w", err))
	}
	cfg, err := config.ParseDraftWith(g.config, data, os.LookupEnv, opts)
	if err != nil {
		return nil, usageError(err)
	}
	g.readLog(cfg.Log)
	return cfg, nil
}

// readLog notes the log format of a configuration just read: from then on
// the line the command exits with is in it, whether or not the command
// builds a logger (README: once the configuration is read).
func (g *globals) readLog(cfg config.Log) {
	if cfg.Format == "json" && g.jsonLog == nil {
		g.jsonLog = slog.New(slog.NewJSONHandler(g.stderr, nil))
	}
}

// loadPlan loads the configuration and compiles its views; any problem is
// a usage error listing every problem with its file:line:col.
func (g *globals) loadPlan() (*config.Config, *projections.Plan, error) {
	return g.loadPlanWith(config.Options{})
}

// loadPlanWith is loadPlan reading the file with opts.
func (g *globals) loadPlanWith(opts config.Options) (*config.Config, *projections.Plan, error) {
	data, err := os.ReadFile(g.config)
	if err != nil {
		return nil, nil, usageError(fmt.Errorf("config: %w", err))
	}
	cfg, err := config.ParseDraftWith(g.config, data, os.LookupEnv, opts)
	if cfg == nil {
		return nil, nil, usageError(err)
	}
	plan, err := projections.CompileDraft(cfg, withStoreURLs(cfg, err))
	if err != nil {
		// Not read: its problems are text lines, file:line:col each.
		return nil, nil, usageError(err)
	}
	g.readLog(cfg.Log)
	return cfg, plan, nil
}

// logger builds the process logger from the configuration.
func (g *globals) logger(cfg config.Log) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: level}
	var log *slog.Logger
	if cfg.Format == "json" {
		log = slog.New(slog.NewJSONHandler(g.stderr, opts))
		g.jsonLog = log
	} else {
		log = slog.New(slog.NewTextHandler(g.stderr, opts))
	}
	routeLibraryLogs(log)
	return log
}

// filePos starts a line that names a place in a file.
var filePos = regexp.MustCompile(`^[^\s:]+:\d+:\d+: `)

// withPrefix is err as the command line prints it: after "projector: ",
// unless it starts with a file:line:col, so that every line of a list of
// problems in the file starts with its place, for editors and CI to read.
func withPrefix(err error) string {
	msg := err.Error()
	var problems config.Errors
	if errors.As(err, &problems) && problems.Error() == msg || filePos.MatchString(msg) {
		return msg
	}
	return "projector: " + msg
}
