package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/projectorhq/projector/internal/kafkautil"
	"github.com/projectorhq/projector/internal/query"
)

// defaultQueryListen is the query API's address: loopback, next to the
// admin endpoints' 9464.
const defaultQueryListen = "127.0.0.1:9465"

func newServe(g *globals) *cobra.Command {
	listen := defaultQueryListen
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
` + query.CursorKeyEnv + ` signs list cursors (give every instance the same).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, plan, err := g.loadPlan()
			if err != nil {
				return err
			}
			log := logger(cfg.Log, g.stderr)
			for _, w := range kafkautil.Warnings(cfg.Kafka) {
				log.Warn(w) // the query server reads end offsets with the same credentials
			}
			ctx, stop, release := twoStageSignals(cmd.Context(), log)
			defer release()
			srv, err := query.New(ctx, cfg, plan, query.Options{
				Logger:    log,
				Tokens:    os.Getenv(query.TokensEnv),
				CursorKey: os.Getenv(query.CursorKeyEnv),
				Version:   Version,
			})
			if err != nil {
				return serveError(err)
			}
			defer srv.Close()
			h, err := srv.Listen(listen)
			if err != nil {
				return serveError(err)
			}
			log.Info("query api", "addr", "http://"+h.Addr(), "tokens", srv.HasTokens(), "views", len(plan.Views))
			served := make(chan error, 1)
			go func() { served <- h.Serve() }()
			select {
			case err := <-served:
				return &exitError{code: ExitFailure, err: fmt.Errorf("query api: %w", err)}
			case <-stop:
			case <-ctx.Done():
			}
			// Requests in flight finish (a read-your-writes wait is at most
			// 30s); a second signal cuts them short.
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
		},
	}
	cmd.Flags().StringVar(&listen, "listen", defaultQueryListen, "address of the query API (a non-loopback one needs "+query.TokensEnv+")")
	return cmd
}

// serveError makes configuration problems usage errors (exit 2).
func serveError(err error) error {
	if errors.Is(err, query.ErrConfig) {
		return usageError(err)
	}
	return &exitError{code: ExitFailure, err: err}
}
