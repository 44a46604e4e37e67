package stack

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ProbeInterval is how often `projector run` pings each store for /readyz.
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
	var wg sync.WaitGroup
	for _, p := range s.probes {
		wg.Go(func() { s.watch(ctx, p, interval) })
	}
	wg.Wait()
}

func (s *Stack) watch(ctx context.Context, p probe, interval time.Duration) {
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
		if err != nil {
			err = fmt.Errorf("does not answer: %w", err)
		}
		for _, c := range p.components {
			s.Engine.ReportHealth(c, err)
		}
		switch {
		case err != nil && last == nil:
			s.log.Warn("a store does not answer; not ready until it does", "store", p.components[len(p.components)-1], "err", err)
		case err == nil && last != nil:
			s.log.Info("a store answers again", "store", p.components[len(p.components)-1])
		}
		last = err
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
