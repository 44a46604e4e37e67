package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/admin"
	"github.com/projectorhq/projector/internal/kafkautil"
	"github.com/projectorhq/projector/internal/query"
	"github.com/projectorhq/projector/internal/rebuild"
	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/projector"
)

func newRun(g *globals) *cobra.Command {
	var serveAddr string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Consume the Debezium topics and keep the views up to date",
		Long: `run joins the consumer group, projects every change into the views and commits
offsets only after every sink acknowledged. SIGINT/SIGTERM: stop fetching,
finish and commit the batch in flight, leave the group, exit 0; while still
starting (nothing consumed yet) it stops at once, exit 0. A second signal
exits at once with status 1 (what was not committed is consumed again on
restart).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, plan, err := g.loadPlan()
			if err != nil {
				return err
			}
			// A bad address is a usage error, told before anything connects.
			if serveAddr != "" {
				if err := query.CheckListen(serveAddr, os.Getenv(query.TokensEnv) != ""); err != nil {
					return usageError(err)
				}
			}
			log := g.logger(cfg.Log)
			ctx, stop, release := twoStageSignals(cmd.Context(), log, daemonShutdown)
			defer release()
			return runExit(ctx, runDaemon(ctx, stop, cfg, plan, log, daemonOptions{serve: serveAddr}))
		},
	}
	cmd.Flags().StringVar(&serveAddr, "serve", "", "also serve the query API, as projector serve does, on this `ADDR`, e.g. 127.0.0.1:8080")
	return cmd
}

// daemonOptions are what callers of runDaemon add to the configuration.
type daemonOptions struct {
	extra []kgo.Opt // Kafka client options (the demo's embedded cluster)
	serve string    // address of the query API; "" for none
}

// daemonKafka is the consumer's client options: TLS and SASL from the
// configuration, a Health hook that says why the brokers cannot be
// reached, then extra. It warns once about risky security settings.
func daemonKafka(k config.Kafka, log *slog.Logger, extra []kgo.Opt) ([]kgo.Opt, *kafkautil.Health, error) {
	opts, err := kafkautil.ClientOpts(k)
	if err != nil {
		return nil, nil, err
	}
	for _, w := range kafkautil.Warnings(k) {
		log.Warn(w)
	}
	health := kafkautil.NewHealth(log.With("component", "kafka"))
	return append(append(opts, health.Opt()), extra...), health, nil
}

// errForcedStop is the cause of a context twoStageSignals cancels on a
// second signal.
var errForcedStop = errors.New("stopped at once by a second signal")

// runExit maps what runDaemon returned to the exit status of `run`: 0
// after a graceful stop, 1 after a forced one (records were left
// uncommitted) or a failure, 2 for a configuration the stores refuse.
func runExit(ctx context.Context, err error) error {
	var exit *exitError
	switch {
	case errors.Is(context.Cause(ctx), errForcedStop):
		// Whatever the stop returned: it may have ended its drain before
		// the second signal cut the group's leave short.
		return &exitError{code: ExitFailure, err: fmt.Errorf("%w: what was not committed is consumed again on restart", errForcedStop)}
	case err == nil:
		return nil
	case errors.As(err, &exit):
		return err
	case errors.Is(err, stack.ErrConfig), errors.Is(err, query.ErrConfig):
		return usageError(err)
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		return nil // the caller's context ended: not a failure of projector's
	}
	return &exitError{code: ExitFailure, err: err}
}

// shutdownNotice is what a process logs on the first signal, which
// drains, and on the second, which stops it at once.
type shutdownNotice struct{ draining, forced string }

// daemonShutdown is the consumer's (`run`, `demo`): it finishes and
// commits the batch in flight.
var daemonShutdown = shutdownNotice{
	draining: "stopping: finishing the batch in flight, if any; signal again to exit at once",
	forced:   "exiting at once: uncommitted records will be consumed again",
}

// twoStageSignals returns a context cancelled by the second SIGINT/SIGTERM
// (hard stop; its cause is errForcedStop) and a channel closed by the
// first (graceful drain), logging notice's words for each. Call release
// when done: it stops listening for signals.
func twoStageSignals(parent context.Context, log *slog.Logger, notice shutdownNotice) (ctx context.Context, stop <-chan struct{}, release func()) {
	ctx, cancelCause := context.WithCancelCause(parent)
	cancel := func() { cancelCause(nil) }
	stopped := make(chan struct{})
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		defer signal.Stop(sig)
		select {
		case s := <-sig:
			log.Info(notice.draining, "signal", s.String())
			close(stopped)
		case <-ctx.Done():
			return
		}
		select {
		case <-sig:
			log.Warn(notice.forced)
			cancelCause(errForcedStop)
		case <-ctx.Done():
		}
	}()
	return ctx, stopped, cancel
}

// runDaemon serves the admin endpoints from the start, wires the stack,
// serves the query API when asked and consumes until stopped. Closing stop
// before consuming began ends the start-up at once (nothing is in flight)
// and returns nil; after, it drains the batch in flight.
func runDaemon(ctx context.Context, stop <-chan struct{}, cfg *config.Config, plan *projections.Plan, log *slog.Logger, o daemonOptions) error {
	d := &daemonState{closing: newTeardown(ctx, log)} // ctx: the second signal ends it
	ctx, su := watchStartup(ctx, stop)
	defer su.release()
	d.phase.Store("connecting to the stores, bringing their tables and indexes up to date")
	// Bound first: a liveness probe must find the process alive while it
	// migrates, and /readyz says it is starting.
	srv, closeAdmin, err := serveAdmin(cfg.Admin.Listen, nil, d.readiness, log)
	if err != nil {
		return err
	}
	defer closeAdmin()
	d.admin = srv
	err = d.run(ctx, su, stop, cfg, plan, log, o)
	if su.stopped() {
		log.Info("stopped during start-up: nothing was consumed yet")
		return nil
	}
	return err
}

// serveAdmin serves /metrics (what gatherer collects; nothing while it is
// nil, until SetGatherer), /healthz and /readyz (ready's verdict) on addr
// until closeAdmin, which waits for requests in flight a few seconds. An
// empty addr, or "off", serves nothing: srv is nil.
func serveAdmin(addr string, gatherer prometheus.Gatherer, ready admin.Readiness, log *slog.Logger) (srv *admin.Server, closeAdmin func(), err error) {
	if addr == "" || addr == "off" {
		return nil, func() {}, nil
	}
	srv, err = admin.Listen(addr, gatherer, ready, log)
	if err != nil {
		return nil, nil, fmt.Errorf("admin listener: %w", err)
	}
	go func() {
		if err := srv.Serve(); err != nil {
			log.Error("admin server", "err", err)
		}
	}()
	log.Info("admin endpoints", "addr", "http://"+srv.Addr(), "paths", "/metrics /healthz /readyz")
	return srv, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}, nil
}

// daemonState is what /readyz and /metrics read of a daemon starting, then
// running.
type daemonState struct {
	admin *admin.Server           // nil when admin.listen is off
	phase atomic.Value            // string: what the start-up is doing
	live  atomic.Pointer[running] // set once consuming begins
	// queryFailed is why `run --serve`'s query API stopped serving: the
	// daemon goes on projecting, but is no longer ready, so a load
	// balancer stops sending it the queries it cannot answer.
	queryFailed atomic.Pointer[error]
	// stopping: a stop came once consuming began; the daemon drains the
	// batch in flight, and a load balancer stops sending `run --serve`
	// queries meanwhile, as for `serve`.
	stopping atomic.Bool
	// closing closes the connections at the end, without letting a store
	// that hangs hold the exit.
	closing *teardown
}

// running is what readiness reads of a running daemon.
type running struct {
	st     *stack.Stack
	cons   *projector.Consumer
	health *kafkautil.Health
}

// queryProblem adds to p why the query API stopped serving, if it did.
func (d *daemonState) queryProblem(p map[string]string) {
	if err := d.queryFailed.Load(); err != nil {
		p["query api"] = "stopped serving: " + (*err).Error()
	}
}

// readiness is /readyz's verdict: starting, then the engine's problems and
// the consumer's state in its group.
func (d *daemonState) readiness() map[string]string {
	c := d.live.Load()
	switch {
	case c == nil:
		return map[string]string{"projector": "starting: " + d.phase.Load().(string)}
	case d.stopping.Load():
		return map[string]string{"projector": "stopping: finishing the batch in flight"}
	}
	p := c.st.Engine.Problems()
	d.queryProblem(p)
	// The hook keeps a connection failure until a request succeeds
	// again: Kafka refusing a member that had joined (credentials
	// revoked, brokers gone) is as unready as one never let in.
	err := c.health.Err()
	// Said by its kind only (PublicCause): the client's words name the
	// brokers' addresses, which the log has.
	switch {
	case !c.cons.Joined():
		p["kafka"] = "not yet assigned partitions"
		if err != nil {
			p["kafka"] += ": " + projector.PublicCause(err).Error()
		}
	case err != nil:
		p["kafka"] = projector.PublicCause(err).Error()
	}
	return p
}

func (d *daemonState) run(ctx context.Context, su *startup, stop <-chan struct{}, cfg *config.Config, plan *projections.Plan, log *slog.Logger, o daemonOptions) error {
	st, err := stack.Wire(ctx, cfg, plan, log)
	if err != nil {
		return err
	}
	defer d.closing.close("stores", st.Close)
	if d.admin != nil {
		d.admin.SetGatherer(st.Registry)
	}
	d.phase.Store("starting the consumer")
	// Before consuming: live changes must reach a generation being built.
	w, err := rebuild.Watch(ctx, st, rebuild.WatchOptions{}, log)
	if err != nil {
		return err
	}
	defer d.closing.close("rebuild watcher", w.Close) // it deregisters the instance
	if o.serve != "" {
		if err := query.CheckListen(o.serve, os.Getenv(query.TokensEnv) != ""); err != nil {
			return usageError(err)
		}
		qs, err := query.New(ctx, cfg, plan, query.Options{Logger: log, Tokens: os.Getenv(query.TokensEnv),
			CursorKey: os.Getenv(query.CursorKeyEnv), Kafka: o.extra, Registerer: st.Registry, Version: version()})
		if err != nil {
			return fmt.Errorf("query api: %w", err)
		}
		defer d.closing.close("query api", qs.Close)
		h, err := qs.Listen(o.serve)
		if err != nil {
			return fmt.Errorf("query api: %w", err)
		}
		go func() {
			if err := h.Serve(); err != nil {
				log.Error("query api stopped serving: the daemon is not ready until it restarts", "err", err)
				d.queryFailed.Store(&err)
			}
		}()
		defer func() {
			// Unready since the stop (a load balancer stopped sending
			// queries), it lets those in flight finish, as `serve` does:
			// a read-your-writes wait takes up to 30s.
			sctx, cancel := context.WithTimeout(ctx, 45*time.Second) // a second signal cuts it short
			defer cancel()
			_ = h.Shutdown(sctx)
		}()
		log.Info("query api", "addr", "http://"+h.Addr())
	}
	kafka, health, err := daemonKafka(cfg.Kafka, log, o.extra)
	if err != nil {
		return err
	}
	cons, err := projector.NewConsumer(st.Engine, projector.ConsumerOptions{
		Brokers:         cfg.Kafka.Brokers,
		Group:           cfg.Kafka.Group,
		ClientID:        cfg.Kafka.ClientID,
		BatchSize:       cfg.Kafka.BatchSize,
		BatchBytes:      cfg.Kafka.BatchBytes,
		ShutdownTimeout: time.Duration(cfg.Kafka.ShutdownTimeout),
		DeadLetterTopic: cfg.Kafka.DeadLetterTopic,
		StopOnError:     cfg.Errors.Tolerance == "none",
		Logger:          log,
		Extra:           kafka, // the dead-letter producer is the same client
	})
	if err != nil {
		return err
	}
	bg, stopBackground := context.WithCancel(ctx)
	var background sync.WaitGroup
	defer func() { stopBackground(); background.Wait() }() // before st.Close
	background.Go(func() { st.Engine.KeepCollectingTombstones(bg, time.Duration(cfg.State.TombstoneRetention)) })
	background.Go(func() { st.Engine.KeepRefreshing(bg) })
	// Idle, no write would notice a store going down (or coming back).
	background.Go(func() { st.WatchStores(bg, stack.ProbeInterval) })
	if !su.begin() {
		return ctx.Err() // stopped while starting
	}
	d.live.Store(&running{st: st, cons: cons, health: health})
	background.Go(func() {
		select {
		case <-stop:
			d.stopping.Store(true)
		case <-bg.Done():
		}
	})
	log.Info("projecting", "topics", st.Engine.Topics(), "group", cfg.Kafka.Group, "views", len(plan.Views))
	return cons.Run(ctx, stop)
}

// startup ends a daemon's start-up on the first stop: until consuming
// begins nothing is in flight to finish, so the start-up's context is
// cancelled rather than left to finish migrations, index builds or a
// connection to a store that does not answer.
type startup struct {
	mu       sync.Mutex
	began    bool // consuming began: a stop drains instead
	stop     bool // a stop came first
	cancel   context.CancelFunc
	released chan struct{}
}

// watchStartup returns ctx, cancelled by a stop that comes before begin.
// Call release when done.
func watchStartup(parent context.Context, stop <-chan struct{}) (context.Context, *startup) {
	ctx, cancel := context.WithCancel(parent)
	su := &startup{cancel: cancel, released: make(chan struct{})}
	go func() {
		select {
		case <-stop:
			su.mu.Lock()
			defer su.mu.Unlock()
			if !su.began {
				su.stop = true
				cancel()
			}
		case <-su.released:
		}
	}()
	return ctx, su
}

// begin tells that consuming begins, false if a stop came first.
func (su *startup) begin() bool {
	su.mu.Lock()
	defer su.mu.Unlock()
	su.began = !su.stop
	return su.began
}

// stopped tells whether a stop ended the start-up.
func (su *startup) stopped() bool {
	su.mu.Lock()
	defer su.mu.Unlock()
	return su.stop
}

func (su *startup) release() {
	close(su.released)
	su.cancel()
}
