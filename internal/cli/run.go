package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

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
finish and commit the batch in flight, leave the group. A second signal exits
at once (what was not committed is consumed again on restart).`,
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
			log := logger(cfg.Log, g.stderr)
			ctx, stop, release := twoStageSignals(cmd.Context(), log)
			defer release()
			if err := runDaemon(ctx, stop, cfg, plan, log, daemonOptions{serve: serveAddr}); err != nil && !errors.Is(err, context.Canceled) {
				var exit *exitError
				if errors.As(err, &exit) {
					return err
				}
				return &exitError{code: ExitFailure, err: err}
			}
			return nil
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

// twoStageSignals returns a context cancelled by the second SIGINT/SIGTERM
// (hard stop) and a channel closed by the first (graceful drain). Call
// release when done: it stops listening for signals.
func twoStageSignals(parent context.Context, log *slog.Logger) (ctx context.Context, stop <-chan struct{}, release func()) {
	ctx, cancel := context.WithCancel(parent)
	stopped := make(chan struct{})
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		defer signal.Stop(sig)
		select {
		case s := <-sig:
			log.Info("draining: finishing the batch in flight; signal again to exit at once", "signal", s.String())
			close(stopped)
		case <-ctx.Done():
			return
		}
		select {
		case <-sig:
			log.Warn("exiting at once: uncommitted records will be consumed again")
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, stopped, cancel
}

// runDaemon wires the stack, serves the admin endpoints (and the query API
// when asked) and consumes until stopped.
func runDaemon(ctx context.Context, stop <-chan struct{}, cfg *config.Config, plan *projections.Plan, log *slog.Logger, o daemonOptions) error {
	st, err := stack.Wire(ctx, cfg, plan, log)
	if err != nil {
		return err
	}
	defer st.Close()
	// Before consuming: live changes must reach a generation being built.
	w, err := rebuild.Watch(ctx, st, rebuild.WatchOptions{}, log)
	if err != nil {
		return err
	}
	defer w.Close()
	if o.serve != "" {
		if err := query.CheckListen(o.serve, os.Getenv(query.TokensEnv) != ""); err != nil {
			return usageError(err)
		}
		qs, err := query.New(ctx, cfg, plan, query.Options{Logger: log, Tokens: os.Getenv(query.TokensEnv),
			CursorKey: os.Getenv(query.CursorKeyEnv), Kafka: o.extra, Registerer: st.Registry, Version: Version})
		if err != nil {
			return fmt.Errorf("query api: %w", err)
		}
		defer qs.Close()
		h, err := qs.Listen(o.serve)
		if err != nil {
			return fmt.Errorf("query api: %w", err)
		}
		go func() {
			if err := h.Serve(); err != nil {
				log.Error("query api", "err", err)
			}
		}()
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
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
		DeadLetterTopic: cfg.Kafka.DeadLetterTopic,
		StopOnError:     cfg.Errors.Tolerance == "none",
		Logger:          log,
		Extra:           kafka, // the dead-letter producer is the same client
	})
	if err != nil {
		return err
	}
	if addr := cfg.Admin.Listen; addr != "" && addr != "off" {
		srv, err := admin.Listen(addr, st.Registry, func() map[string]string {
			p := st.Engine.Problems()
			// The hook keeps a connection failure until a request succeeds
			// again: Kafka refusing a member that had joined (credentials
			// revoked, brokers gone) is as unready as one never let in.
			err := health.Err()
			switch {
			case !cons.Joined():
				p["kafka"] = "not yet assigned partitions"
				if err != nil {
					p["kafka"] += ": " + err.Error()
				}
			case err != nil:
				p["kafka"] = err.Error()
			}
			return p
		}, log)
		if err != nil {
			return fmt.Errorf("admin listener: %w", err)
		}
		go func() {
			if err := srv.Serve(); err != nil {
				log.Error("admin server", "err", err)
			}
		}()
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
		log.Info("admin endpoints", "addr", "http://"+srv.Addr(), "paths", "/metrics /healthz /readyz")
	}
	collect, stopCollecting := context.WithCancel(ctx)
	defer stopCollecting()
	go st.Engine.KeepCollectingTombstones(collect, time.Duration(cfg.State.TombstoneRetention))
	log.Info("projecting", "topics", st.Engine.Topics(), "group", cfg.Kafka.Group, "views", len(plan.Views))
	return cons.Run(ctx, stop)
}
