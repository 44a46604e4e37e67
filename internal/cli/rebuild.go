package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/rebuild"
	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/projections"
)

type rebuildOptions struct {
	from           string
	sinks          []string
	keep           time.Duration
	yes            bool
	resume         bool
	abort          bool
	chunk          int
	workers        int
	wait           time.Duration
	sourceURLs     []string
	resetPositions bool
	verify         string
	verifyTimeout  time.Duration
}

func newRebuild(g *globals) *cobra.Command {
	o := rebuildOptions{}
	cmd := &cobra.Command{
		Use:   "rebuild VIEW",
		Short: "Rebuild a view into a new generation and swap it in without downtime",
		Long: `rebuild creates the view's next generation (a new PostgreSQL table, a new
Elasticsearch index), has every running daemon write live changes to it too,
fills it from the state tables, verifies it against the state, and swaps it
in atomically: readers see the old generation until the
swap and the new one after it. Redis keys are the live keys themselves: the
fill overwrites them by revision, then the keys of documents the state no
longer has, and those of a key template the view no longer has, are
deleted. The replaced generation is dropped after rebuild.keep of the
configuration (1h by default; --keep overrides it).

--from source first re-reads the view's PostgreSQL source tables in one
consistent snapshot, key ranges in parallel, into the state (rows the source
no longer has are deleted; a state holding positions past the database's WAL
position, a database that went back, is refused unless --reset-positions);
--from kafka first replays the view's topics from their earliest
offsets into the state, outside the consumer group; --from signal asks each
source's Debezium connector for an incremental snapshot through its Kafka
signal topic (the way to re-read MongoDB), applies what it re-reads to the
state and waits for the connector to report completion on its notification
topic (sources.NAME.signal in the configuration; rebuild.signal_timeout).

A mismatch found by the verification refuses the swap and says which
documents differ. An interrupted rebuild (Ctrl-C, a crash) leaves the served
generation untouched: continue it with --resume, or drop it with --abort (which
also points back readers that a swap interrupted half-way had moved). A second
Ctrl-C exits at once (status 1), leaving the cleanup the first started as a
crash would.`,
		Example: `  projector rebuild order_view -c projector.yaml
  projector rebuild order_view --sinks elasticsearch --keep 24h --yes
  projector rebuild order_view --from signal --yes
  projector rebuild --resume order_view
  projector rebuild --abort order_view`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRebuild(cmd, g, o, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.from, "from", registry.SourceState, "where the documents come from: state (the state tables); source (re-read the PostgreSQL source tables into the state first); kafka (replay the view's topics into the state first); signal (have Debezium re-read the sources: an incremental snapshot)")
	f.StringArrayVar(&o.sourceURLs, "source-url", nil, "with --from source (or --resume of such a rebuild): the source database, as URL or NAME=URL per source (repeatable); env:VAR reads the URL from $VAR, and $"+sourceURLEnv+" is the default URL")
	f.BoolVar(&o.resetPositions, "reset-positions", false, "with --from source (or --resume of such a rebuild): take a source database restored, failed over with WAL lost or replaced (its WAL position below the state's) as it is now")
	f.StringSliceVar(&o.sinks, "sinks", nil, "rebuild only these stores of the view: postgres (pg), redis, elasticsearch (es) (default all)")
	// No default of the flag's own: unset, the configuration's rebuild.keep
	// applies, and cobra would print a fixed "(default 1h0m0s)" that is
	// wrong whenever rebuild.keep says otherwise. pflag takes the zero
	// value's "0s" for a default too, unless it is told there is none.
	f.Var(durationValue{&o.keep}, "keep", "how long the replaced generation is kept after the swap, as the configuration writes durations (1h, 7d); 0s drops it at once (default: rebuild.keep from the configuration)")
	f.Lookup("keep").DefValue = ""
	f.BoolVarP(&o.yes, "yes", "y", false, "do not ask for confirmation")
	f.BoolVar(&o.resume, "resume", false, "continue the interrupted or failed rebuild of VIEW")
	f.BoolVar(&o.abort, "abort", false, "abandon the rebuild of VIEW under way and drop its generation")
	f.IntVar(&o.chunk, "chunk", 1000, "documents recomputed and written at once")
	f.IntVar(&o.workers, "workers", 4, "chunks in flight at once")
	f.DurationVar(&o.wait, "wait", time.Minute, "how long running daemons may take to start writing the new generation, and the swap may wait for readers holding the view or older snapshots")
	f.StringVar(&o.verify, "verify", rebuild.VerifySnapshot, "revs: revisions checked in one snapshot, other stores for presence, a sample recomputed; full: every document recomputed and compared")
	f.DurationVar(&o.verifyTimeout, "verify-timeout", 30*time.Second, "how long documents found different may take to settle before the swap is refused")
	cmd.MarkFlagsMutuallyExclusive("resume", "abort")
	return cmd
}

func runRebuild(cmd *cobra.Command, g *globals, o rebuildOptions, view string) error {
	if o.chunk <= 0 || o.workers <= 0 || o.keep < 0 {
		return usageError(errors.New("--chunk and --workers must be positive, --keep not negative"))
	}
	if o.verify != rebuild.VerifySnapshot && o.verify != rebuild.VerifyFull {
		return usageError(fmt.Errorf("--verify %q: want revs or full", o.verify))
	}
	for i, s := range o.sinks {
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "es":
			o.sinks[i] = registry.StoreElasticsearch
		case "pg", "postgresql":
			o.sinks[i] = registry.StorePostgres
		default:
			o.sinks[i] = strings.ToLower(strings.TrimSpace(s))
		}
	}
	switch o.from {
	case registry.SourceState, registry.SourceKafka, registry.SourceSource, registry.SourceSignal:
	default:
		return usageError(fmt.Errorf("--from %q: want state, source, kafka or signal", o.from))
	}
	urls, err := sourceURLs(o.sourceURLs, os.LookupEnv)
	if err != nil {
		return usageError(err)
	}
	// --resume goes on with the generation's own --from and stores: a
	// re-read of sources takes them again. Flags asking for others would
	// be ignored, so they are refused.
	if o.resume && (cmd.Flags().Changed("from") || cmd.Flags().Changed("sinks")) {
		return usageError(errors.New("--resume goes on with the rebuild's own --from and --sinks: leave them out"))
	}
	if o.resetPositions && o.from != registry.SourceSource && !o.resume {
		return usageError(errors.New("--reset-positions goes with --from source"))
	}
	if len(o.sourceURLs) > 0 && o.from != registry.SourceSource && !o.resume {
		return usageError(errors.New("--source-url goes with --from source"))
	}
	if o.from == registry.SourceSource && len(urls) == 0 {
		return usageError(fmt.Errorf("--from source needs --source-url (URL, NAME=URL per source, or env:VAR for either) or %s", sourceURLEnv))
	}
	cfg, plan, err := g.loadPlan()
	if err != nil {
		return err
	}
	if plan.View(view) == nil {
		return usageError(fmt.Errorf("view %q is not declared in %s", view, cfg.File))
	}
	for name := range urls {
		// A misspelt name would leave the source to the default URL, or
		// a keyword DSN (host=… password=…) pass for NAME=URL.
		if name != "" && !slices.ContainsFunc(plan.Sources, func(s *projections.Source) bool { return s.Name == name }) {
			return usageError(fmt.Errorf("--source-url %s=…: %s declares no source %q (a URL, not a key=value DSN)", name, cfg.File, name))
		}
	}
	if !cmd.Flags().Changed("keep") {
		o.keep = time.Duration(cfg.Rebuild.Keep)
	}
	log := g.logger(cfg.Log)
	// Asked, or refused, before Open brings the query database's schema up
	// to date: a rebuild declined, or pointed at the wrong database, has
	// written nothing. The stores are read from the configuration alone.
	switch {
	case o.abort && !o.yes:
		if err := confirm(cmd.InOrStdin(), g.stderr, fmt.Sprintf("Abandon the rebuild of %s and drop its generation?", view)); err != nil {
			return err
		}
	case !o.abort && !o.resume:
		stores, err := rebuild.PickStoresOf(cfg, plan, view, o.sinks)
		if err != nil {
			return rebuildError(err, view)
		}
		if !o.yes {
			q := fmt.Sprintf("Rebuild %s (%s) from the %s into a new generation?", view, strings.Join(stores, ", "), o.from)
			if err := confirm(cmd.InOrStdin(), g.stderr, q); err != nil {
				return err
			}
		}
	}
	// The first signal stops the rebuild where it is (its progress is in
	// the registry); the served generation is not touched. The second cuts
	// short the cleanup the first started.
	hard, first, release := twoStageSignals(cmd.Context(), log, rebuildShutdown)
	defer release()
	ctx, cancel := context.WithCancel(hard)
	defer cancel()
	go func() {
		select {
		case <-first:
			cancel()
		case <-ctx.Done():
		}
	}()
	return untilForced(hard, view, func() error { return execRebuild(ctx, g, o, view, cfg, plan, log, urls) })
}

// rebuildShutdown is what rebuild logs on the first signal and the second.
var rebuildShutdown = shutdownNotice{
	draining: "interrupted: stopping the rebuild where it is; signal again to exit at once",
	forced:   "exiting at once: the rebuild's cleanup is cut short",
}

// untilForced runs do and returns its error, or returns at once when a
// second signal ends hard (errForcedStop). What do was still doing, the
// cleanup after the first (dropping targets never registered, moving
// readers back, recording progress), is then left as a crash leaves it: the
// view's locks go with the process's connections, and the next rebuild,
// --resume or --abort takes over from what the registry says.
func untilForced(hard context.Context, view string, do func() error) error {
	done := make(chan error, 1)
	go func() { done <- do() }()
	select {
	case err := <-done:
		return err
	case <-hard.Done():
	}
	if !errors.Is(context.Cause(hard), errForcedStop) {
		return <-done // the caller's context ended: do ends with it
	}
	return &exitError{code: ExitFailure, err: fmt.Errorf("%w; `projector generations %s` shows where the rebuild stopped: continue it with `projector rebuild --resume %s` or drop it with --abort",
		errForcedStop, view, view)}
}

// execRebuild connects to the stores and runs what runRebuild checked and
// had confirmed: the rebuild, its --resume or its --abort.
func execRebuild(ctx context.Context, g *globals, o rebuildOptions, view string,
	cfg *config.Config, plan *projections.Plan, log *slog.Logger, urls map[string]string) error {
	env, err := rebuild.Open(ctx, cfg, plan, log)
	if err != nil {
		if stack.RefusedPostgres(err) {
			return usageError(fmt.Errorf("stores.postgres.url: %w", err)) // as run: no retry fixes it
		}
		return &exitError{code: ExitFailure, err: err}
	}
	defer env.Close()

	if o.abort {
		gen, err := rebuild.Abort(ctx, env, view, o.wait)
		if err != nil {
			return rebuildError(err, view)
		}
		fmt.Fprintf(g.stdout, "view %s: generation %d aborted and dropped; readers still see generation %s\n", view, gen.Number, servedList(ctx, env, view))
		return nil
	}

	opts := rebuild.Options{
		View: view, From: o.from, Stores: o.sinks, Keep: o.keep, Chunk: o.chunk, Workers: o.workers,
		SourceURLs: urls, ResetPositions: o.resetPositions, WaitTimeout: o.wait, Verify: o.verify, VerifyTimeout: o.verifyTimeout, Log: log,
		Progress: rebuild.NewProgress(g.stderr, 0),
	}
	var res rebuild.Result
	if o.resume {
		res, err = rebuild.Resume(ctx, env, opts)
	} else {
		res, err = rebuild.Run(ctx, env, opts)
	}
	if err != nil {
		// A swap interrupted past its commit point is not "untouched":
		// rebuildError says so.
		// A generation the rebuild discarded (it failed before doing any
		// work, and the signal came only then) leaves nothing to resume.
		if ctx.Err() != nil && !errors.Is(err, rebuild.ErrPartialSwap) && !errors.Is(err, rebuild.ErrDiscarded) {
			return &exitError{code: ExitFailure, err: fmt.Errorf("interrupted; readers still see the served generation; continue with `projector rebuild --resume %s` or drop it with --abort", view)}
		}
		return rebuildError(err, view)
	}
	printResult(g.stdout, res, res.Keep) // --resume keeps the grace period the rebuild was started with
	return nil
}

// rebuildError turns an error into the exit code and advice it deserves.
func rebuildError(err error, view string) error {
	switch {
	case errors.Is(err, rebuild.ErrUnknownView), errors.Is(err, rebuild.ErrUnknownStore), errors.Is(err, rebuild.ErrStoreNotConfigured):
		return usageError(err)
	case errors.Is(err, rebuild.ErrPartialSwap):
		return &exitError{code: ExitFailure, err: fmt.Errorf("%w\n`projector rebuild --resume %s` finishes the swap; --abort points readers back at the served generation", err, view)}
	case errors.Is(err, rebuild.ErrMismatch):
		return &exitError{code: ExitFailure, err: fmt.Errorf("%w\ninspect the generation, then `projector rebuild --resume %s` to build it again or --abort to drop it", err, view)}
	}
	return &exitError{code: ExitFailure, err: err}
}

func printResult(w io.Writer, r rebuild.Result, keep time.Duration) {
	rate := 0.0
	if r.Fill > 0 {
		rate = float64(r.Filled) / r.Fill.Seconds()
	}
	fmt.Fprintf(w, "view %s: generation %d is active\n", r.View, r.Generation)
	if r.SourceRows > 0 {
		fmt.Fprintf(w, "  source   %d rows read into the state\n", r.SourceRows)
	}
	if r.Replayed > 0 {
		fmt.Fprintf(w, "  replayed %d Kafka records into the state\n", r.Replayed)
	}
	if r.SourceDeleted > 0 {
		fmt.Fprintf(w, "  deleted  %d state rows the source no longer has\n", r.SourceDeleted)
	}
	if r.DeadLetters > 0 {
		fmt.Fprintf(w, "  %d records could not be projected (see the log)\n", r.DeadLetters)
	}
	fmt.Fprintf(w, "  filled   %d documents in %s (%.0f docs/s)\n", r.Filled, r.Fill.Round(time.Millisecond), rate)
	fmt.Fprintf(w, "  verified %d documents in %s, checksum %s\n", r.Verified, r.Verify.Round(time.Millisecond), r.Checksum)
	if r.Swept > 0 {
		fmt.Fprintf(w, "  swept    %d Redis documents the state no longer has\n", r.Swept)
	}
	fmt.Fprintf(w, "  live instances writing it during the build: %d; total %s\n", r.Instances, r.Total.Round(time.Millisecond))
	for store, gen := range r.Replaced {
		switch {
		case gen == r.Generation:
		case r.Dropped:
			fmt.Fprintf(w, "  %s generation %d dropped\n", store, gen)
		default:
			fmt.Fprintf(w, "  %s generation %d retired; dropped after %s\n", store, gen, keep)
		}
	}
}

// servedList names the generation readers see per store, for messages.
func servedList(ctx context.Context, env *rebuild.Env, view string) string {
	snap, err := env.Registry.Snapshot(ctx)
	if err != nil {
		return "(unknown)"
	}
	var parts []string
	for _, s := range env.Stores(view) {
		if s != registry.StoreRedis {
			parts = append(parts, fmt.Sprintf("%d (%s)", snap.Serving(view, s), s))
		}
	}
	return strings.Join(parts, ", ")
}

// confirm asks a yes/no question on a terminal; without one, --yes is
// required.
func confirm(in io.Reader, out io.Writer, question string) error {
	if f, ok := in.(*os.File); !ok || !isTerminal(f) {
		return usageError(errors.New("not asking on a non-terminal input: pass --yes to confirm"))
	}
	fmt.Fprintf(out, "%s [y/N] ", question)
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return &exitError{code: ExitFailure, err: err}
	}
	if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
		return &exitError{code: ExitFailure, err: errors.New("cancelled")}
	}
	return nil
}

// isTerminal tells a terminal from any other input. A character device is
// not enough: /dev/null is one, and it is the stdin of cron and of
// Kubernetes Jobs, where a prompt would read end-of-file and cancel.
func isTerminal(f *os.File) bool {
	return term.IsTerminal(int(f.Fd()))
}

// sourceURLEnv holds the source database's URL for `rebuild --from
// source` when no --source-url names one.
const sourceURLEnv = "PROJECTOR_SOURCE_URL"

// sourceURLs reads --source-url's values, by source name ("" for every
// source): URL, NAME=URL, or either with env:VAR for the URL, so that a
// password need not be on a command line every `ps` shows.
func sourceURLs(flags []string, lookup func(string) (string, bool)) (map[string]string, error) {
	urls := map[string]string{}
	if u, ok := lookup(sourceURLEnv); ok && u != "" {
		urls[""] = u
	}
	for _, f := range flags {
		name, url, ok := strings.Cut(f, "=")
		if !ok || strings.Contains(name, ":") {
			name, url = "", f // a plain URL (its query may hold '=')
		}
		if v, ok := strings.CutPrefix(url, "env:"); ok {
			u, set := lookup(v)
			if !set || u == "" {
				return nil, fmt.Errorf("--source-url %s: $%s is not set", f, v)
			}
			url = u
		}
		urls[name] = url
	}
	for name, u := range urls {
		if err := checkSourceURL(name, u); err != nil {
			return nil, err
		}
	}
	return urls, nil
}

// checkSourceURL refuses a source URL pgx would misread or refuse, as
// validate refuses a store URL, without quoting it: it holds a password.
func checkSourceURL(name, raw string) error {
	label := "the source URL"
	if name != "" {
		label = "the source URL of " + name
	}
	if p := config.URLProblem(raw, label, false, false, "postgres", "postgresql"); p != "" {
		return errors.New(p)
	}
	if _, err := pgxpool.ParseConfig(raw); err != nil {
		return fmt.Errorf("%s: %s", label, driverReason(err, raw))
	}
	return nil
}

// durationValue is a duration flag read as the configuration reads
// durations, days included (--keep 7d, as rebuild.keep: 7d).
type durationValue struct{ d *time.Duration }

func (v durationValue) String() string {
	if v.d == nil {
		return "0s"
	}
	return v.d.String()
}

func (v durationValue) Set(s string) error {
	d, err := config.ParseDuration(s)
	if err != nil {
		return err
	}
	*v.d = d
	return nil
}

func (durationValue) Type() string { return "duration" }
