package stack

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks/elasticsearch"
)

// ProbeInterval is how often `projector run` and `projector serve` ping
// each store for /readyz.
const ProbeInterval = 5 * time.Second

// probeTimeout bounds one ping: a store slower than that to answer a ping
// is not ready.
const probeTimeout = 5 * time.Second

// probe is a light request telling whether a store answers, reported for
// the /readyz components it stands for.
type probe struct {
	components []string
	ping       func(context.Context) error
	down       error // why the store did not answer at start; nil if it did
}

// postgresProbe pings the query PostgreSQL through pool, for components.
func postgresProbe(pool *pgxpool.Pool, components ...string) probe {
	return probe{components: components, ping: func(ctx context.Context) error { return pingPool(ctx, pool) }}
}

// elasticsearchProbe asks for the indices behind each view's alias (GET
// /_alias/…): light, and authenticated. An alias on no index is a failure:
// its index was deleted (Elasticsearch drops the alias with it), and the
// writes that follow create an index nobody reads through the alias.
func elasticsearchProbe(sink *elasticsearch.Sink, views []elasticsearch.View, down error) probe {
	return probe{components: []string{registry.StoreElasticsearch}, down: down, ping: func(ctx context.Context) error {
		for _, v := range views {
			alias := v.Alias
			if alias == "" {
				alias = v.Name
			}
			indices, err := sink.AliasIndices(ctx, alias)
			if err != nil {
				return err
			}
			if len(indices) == 0 {
				return fmt.Errorf("alias %s of view %s is on no index (was its index deleted?): its documents need projector rebuild %s --sinks es", alias, v.Name, v.Name)
			}
		}
		return nil
	}}
}

// checkAliasesBehind refuses to write a view's Elasticsearch documents into
// the served generation's index when readers search, through the alias, a
// later generation the registry does not know: the registry was lost or
// restored from an older backup (a rebuild registers its generation before
// the alias moves to it). As for PostgreSQL's readers (postgres.ErrReadersAhead).
// An Elasticsearch that does not answer is an error too (an outage: see
// esOutage): until it answers, the check is still to run (see setUpFirst).
func checkAliasesBehind(ctx context.Context, sink *elasticsearch.Sink, views []elasticsearch.View, served registry.Snapshot) error {
	for _, v := range views {
		alias := v.Alias
		if alias == "" {
			alias = v.Name
		}
		indices, err := sink.AliasIndices(ctx, alias)
		if err != nil {
			return fmt.Errorf("view %s: look for the generations readers search: %w", v.Name, err)
		}
		for _, index := range indices {
			n, ok := strings.CutPrefix(index, alias+"-g")
			g, err := strconv.Atoi(n)
			if !ok || err != nil || g <= v.Generation {
				continue
			}
			if !slices.ContainsFunc(served.Of(v.Name), func(r registry.Generation) bool { return r.Number == g }) {
				return fmt.Errorf("elasticsearch: readers of alias %s search generation %d (%s), the registry serves %d: were projector's registry tables lost or restored from an older backup? Restore them; nothing was changed",
					alias, g, index, v.Generation)
			}
		}
	}
	return nil
}

// pingPool pings PostgreSQL through pool. When every connection is in use
// (the writes hold them all) it pings on a connection of its own, outside
// the pool: skipping the ping would leave a failure it reported earlier
// standing for as long as the load lasts.
func pingPool(ctx context.Context, pool *pgxpool.Pool) error {
	if st := pool.Stat(); st.AcquiredConns() < st.MaxConns() {
		return pool.Ping(ctx)
	}
	conn, err := pgx.ConnectConfig(ctx, pool.Config().ConnConfig)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return conn.Ping(ctx)
}

// WatchStores pings every store every interval until ctx ends, and reports
// each verdict to the engine's readiness (Engine.Problems), so that a store
// going down while no change flows makes the process unready, and one that
// did not answer at start makes it ready once it answers. A ping only
// speaks for itself: a store answering pings whose writes fail stays
// unready until the writes succeed. Each ping is light (PostgreSQL: an
// empty statement on a pooled connection; Redis: PING; Elasticsearch:
// GET /_alias of one view).
func (s *Stack) WatchStores(ctx context.Context, interval time.Duration) {
	watchProbes(ctx, s.probes, interval, s.Engine.ReportHealth, s.log)
}

// watchProbes pings each probe every interval until ctx ends and reports
// every verdict, for each component the probe stands for, to report; it
// logs a store going down and coming back.
func watchProbes(ctx context.Context, probes []probe, interval time.Duration, report func(component string, err error), log *slog.Logger) {
	var wg sync.WaitGroup
	for _, p := range probes {
		wg.Go(func() { watch(ctx, p, interval, report, log) })
	}
	wg.Wait()
}

func watch(ctx context.Context, p probe, interval time.Duration, report func(string, error), log *slog.Logger) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	last := p.down
	for {
		pctx, cancel := context.WithTimeout(ctx, min(interval, probeTimeout))
		err := p.ping(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		refuses := projector.Refuses(err)
		switch {
		case refuses:
			err = fmt.Errorf("refuses projector: %w", err)
		case err != nil:
			err = fmt.Errorf("does not answer: %w", err)
		}
		for _, c := range p.components {
			report(c, err)
		}
		switch {
		case err != nil && last == nil && refuses:
			log.Warn("a store refuses projector's requests (its credentials or what they may do); not ready until it takes them", "store", p.components[len(p.components)-1], "err", err)
		case err != nil && last == nil:
			log.Warn("a store does not answer; not ready until it does", "store", p.components[len(p.components)-1], "err", err)
		case err == nil && last != nil:
			log.Info("a store answers again", "store", p.components[len(p.components)-1])
		}
		last = err
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
