package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/kafkautil"
	"github.com/projectorhq/projector/internal/query"
	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/projections"
)

// defaultQueryListen is the query API's address: loopback, next to the
// admin endpoints' 9464.
const defaultQueryListen = "127.0.0.1:9465"

func newServe(g *globals) *cobra.Command {
	listen, adminListen := defaultQueryListen, ""
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the query API over the views: documents, lists, search, read-your-writes",
		Long: `serve answers HTTP queries over the views of the configuration, reading the
query PostgreSQL, Redis and Elasticsearch directly:

  GET /v1/views                     the views, their fields, sinks and lag
  GET /v1/views/VIEW/docs/ID        one document (Redis when the view has it)
  GET /v1/views/VIEW/docs?status=shipped&total[gte]=10&sort=-created_at&limit=20
                                    a page from PostgreSQL; next_cursor continues it
  GET /v1/views/VIEW/search?q=…&facets=status
                                    full text and facets from Elasticsearch
  GET /v1/openapi.json              the OpenAPI 3 description

Add min_position=SOURCE:POSITION (or the Projector-Min-Position header) to read
your own writes: orders:0/16B3748 (a PostgreSQL LSN) or users:1718000000:3
(a MongoDB oplog time and ordinal); wait=2s bounds the wait (default 5s).

Bearer tokens come from ` + query.TokensEnv + `, e.g.
"token-for-shop-app-123:order_view,user_order_stats; admin-token-456789:*".
Without it the API is open and only listens on a loopback address.
` + query.CursorKeyEnv + ` signs list cursors (give every instance the same).

The admin endpoints (admin.listen of the configuration, or --admin-listen)
serve /healthz (the process is up), /readyz (503 naming each store that
does not answer its ping, sent every 5 seconds) and /metrics
(projector_query_requests_total, projector_query_request_seconds).

SIGINT/SIGTERM: take no new requests, finish those in flight, exit 0 (while
still connecting at start: stop at once, exit 0); a second signal cuts them
short, exit 1. The query PostgreSQL must answer within 10s at start.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, plan, err := g.loadPlan()
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("admin-listen") {
				if err := config.CheckAdminListen(adminListen); err != nil {
					return usageError(fmt.Errorf("--admin-listen %q %w", adminListen, err))
				}
				cfg.Admin.Listen = adminListen
			}
			log := g.logger(cfg.Log)
			for _, w := range kafkautil.Warnings(cfg.Kafka) {
				log.Warn(w) // the query server reads end offsets with the same credentials
			}
			ctx, stop, release := twoStageSignals(cmd.Context(), log, serveShutdown)
			defer release()
			return serveQueries(ctx, stop, cfg, plan, listen, log)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", defaultQueryListen, "address of the query API (a non-loopback one needs "+query.TokensEnv+")")
	cmd.Flags().StringVar(&adminListen, "admin-listen", "", "address of /metrics, /healthz and /readyz, or off (default: admin.listen from the configuration)")
	return cmd
}

// serveShutdown is the query API's: it has no batch in flight, only
// requests.
var serveShutdown = shutdownNotice{
	draining: "stopping: taking no new requests, finishing those in flight; signal again to exit at once",
	forced:   "exiting at once: requests in flight are cut short",
}

// serveQueries serves the query API, then the admin endpoints, until stop
// (requests in flight finish) or ctx ends (they are cut short). A stop
// before it serves ends the start-up at once, as run's (nothing is in
// flight), and returns nil.
func serveQueries(ctx context.Context, stop <-chan struct{}, cfg *config.Config, plan *projections.Plan, listen string, log *slog.Logger) error {
	closing := newTeardown(ctx, log)
	start, su := watchStartup(ctx, stop)
	defer su.release()
	metrics := stack.NewRegistry()
	srv, err := query.New(start, cfg, plan, query.Options{
		Logger:     log,
		Tokens:     os.Getenv(query.TokensEnv),
		CursorKey:  os.Getenv(query.CursorKeyEnv),
		Registerer: metrics,
		Version:    version(),
	})
	if err != nil {
		if su.stopped() {
			return stoppedStarting(log)
		}
		return serveError(err)
	}
	defer closing.close("query api", srv.Close)
	stores, err := stack.OpenStores(cfg, plan, log)
	if err != nil {
		return serveError(err)
	}
	defer closing.close("stores", stores.Close)
	watching, stopWatching := context.WithCancel(ctx)
	var watcher sync.WaitGroup
	watcher.Go(func() { stores.Watch(watching, stack.ProbeInterval) })
	defer func() { stopWatching(); watcher.Wait() }()

	if !su.begin() {
		return stoppedStarting(log)
	}
	h, err := srv.Listen(listen)
	if err != nil {
		return serveError(err)
	}
	served := make(chan error, 1)
	go func() { served <- h.Serve() }()
	log.Info("query api", "addr", "http://"+h.Addr(), "tokens", srv.HasTokens(), "views", len(plan.Views))
	state := &serveState{stores: stores}
	_, closeAdmin, err := serveAdmin(cfg.Admin.Listen, metrics, state.readiness, log)
	if err != nil {
		_ = h.Shutdown(ctx)
		<-served
		return &exitError{code: ExitFailure, err: err}
	}
	defer closeAdmin()
	select {
	case err := <-served:
		return &exitError{code: ExitFailure, err: fmt.Errorf("query api: %w", err)}
	case <-stop:
	case <-ctx.Done():
	}
	state.stopping.Store(true) // a load balancer stops sending requests
	// Requests in flight finish (a read-your-writes wait is at most 30s);
	// a second signal cuts them short.
	sctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	if err := h.Shutdown(sctx); err != nil && !errors.Is(err, context.Canceled) {
		return &exitError{code: ExitFailure, err: fmt.Errorf("query api: shutdown: %w", err)}
	}
	if errors.Is(context.Cause(ctx), errForcedStop) {
		<-served
		return &exitError{code: ExitFailure, err: fmt.Errorf("%w: requests in flight were cut short", errForcedStop)}
	}
	return <-served
}

// stoppedStarting is serve's end for a stop that came before it served:
// nothing was in flight.
func stoppedStarting(log *slog.Logger) error {
	log.Info("stopped during start-up: nothing was served yet")
	return nil
}

// serveState is what /readyz reads of `projector serve`: its stores'
// pings, until it stops.
type serveState struct {
	stores   *stack.Stores
	stopping atomic.Bool // a signal came: it drains
}

func (s *serveState) readiness() map[string]string {
	if s.stopping.Load() {
		return map[string]string{"projector": "stopping: finishing the requests in flight"}
	}
	return s.stores.Problems()
}

// serveError makes configuration problems usage errors (exit 2).
func serveError(err error) error {
	if errors.Is(err, query.ErrConfig) || errors.Is(err, stack.ErrConfig) {
		return usageError(err)
	}
	return &exitError{code: ExitFailure, err: err}
}
