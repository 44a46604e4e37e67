package rebuild

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/sinks/postgres"
)

// swap points readers at the new generation and records the swap in the
// registry. The Elasticsearch alias moves first, in one request; the
// PostgreSQL reader view moves inside the registry's swap transaction, so
// that PostgreSQL readers are on the generation the registry serves at
// every moment, whatever stops the run. Should the registry refuse after
// the alias moved, the alias goes back: a failed swap leaves readers on
// the served generation. Every step is idempotent, so --resume swaps again.
//
// The PostgreSQL swap takes the reader view's lock only briefly and waits
// for the transactions whose snapshot predates the fill (snapshotCheck):
// it is rolled back and tried again, for up to --wait, so that readers
// never queue behind it (see registry.WithLockWait). A wait running out
// leaves the generation verifying, for --resume.
func (r *run) swap(ctx context.Context, rep report) error {
	g := &r.gen
	var older *snapshotCheck
	if g.Has(registry.StorePostgres) {
		var err error
		if older, err = r.olderSnapshotsCheck(ctx); err != nil {
			return err
		}
	}
	if g.Has(registry.StoreElasticsearch) {
		if err := r.swapAlias(ctx); err != nil {
			// The request may have been applied before its answer was
			// lost: the alias goes back to the served generation if it
			// is on this one.
			served := r.res.Replaced[registry.StoreElasticsearch]
			if rerr := r.env.pointAlias(context.WithoutCancel(ctx), g.View, g.Number, served); rerr != nil {
				return errors.Join(err, fmt.Errorf("%w: view %s: the elasticsearch alias may be on generation %d: %w",
					ErrPartialSwap, g.View, g.Number, rerr))
			}
			return err
		}
	}
	reg := r.env.Registry.WithLockWait(r.opts.WaitTimeout)
	busyLogged := false
	_, err := reg.SwapWith(ctx, g.View, g.Number, rep.verified, rep.checksum, func(tx pgx.Tx) error {
		if err := r.env.recordDefinitionTx(ctx, tx, *g); err != nil {
			return err
		}
		if g.Has(registry.StoreElasticsearch) {
			// The alias moved before this transaction (swapAlias).
			if err := r.env.Registry.NoteAliasedTx(ctx, tx, g.View); err != nil {
				return err
			}
		}
		if !g.Has(registry.StorePostgres) {
			return nil
		}
		if err := r.env.activateTx(ctx, tx, g.View, g.Number); err != nil {
			if errors.Is(err, postgres.ErrReadersBusy) && !busyLogged {
				busyLogged = true
				r.opts.Log.Info("the swap waits for transactions holding the reader view", "view", g.View, "generation", g.Number, "err", err)
			}
			return err
		}
		return older.check(ctx, tx)
	})
	if errors.Is(err, registry.ErrLockWait) {
		err = fmt.Errorf("view %s: generation %d stays verifying, readers on the served generation: the swap %w; "+
			"end those transactions (pg_terminate_backend) or let them finish, then run rebuild --resume", g.View, g.Number, err)
	}
	if err != nil {
		// The commit may have been applied before its answer was lost:
		// the registry says, and moving the alias back would leave
		// Elasticsearch readers on a generation no daemon writes.
		swapped, known := r.swapCommitted(ctx)
		switch {
		case swapped:
			r.opts.Log.Warn("the swap committed though its answer was lost", "view", g.View, "generation", g.Number, "err", err)
			return nil
		case !known && g.Has(registry.StoreElasticsearch):
			return fmt.Errorf("%w: view %s: the swap to generation %d may have committed (the registry cannot be read) and the elasticsearch alias is on it; run --resume: %w",
				ErrPartialSwap, g.View, g.Number, err)
		}
	}
	if err == nil || !g.Has(registry.StoreElasticsearch) {
		return err
	}
	served := r.res.Replaced[registry.StoreElasticsearch]
	if rerr := r.env.pointAlias(context.WithoutCancel(ctx), g.View, g.Number, served); rerr != nil {
		return errors.Join(err, fmt.Errorf("%w: view %s: the elasticsearch alias is still on generation %d: %w",
			ErrPartialSwap, g.View, g.Number, rerr))
	}
	return err
}

// swapCommitted reads whether the registry recorded the swap of the run's
// generation; known is false when the registry cannot be read.
func (r *run) swapCommitted(ctx context.Context) (swapped, known bool) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	snap, err := r.env.Registry.Snapshot(ctx)
	if err != nil {
		return false, false
	}
	g, ok := snap.Get(r.gen.View, r.gen.Number)
	return ok && g.SwappedAt != nil, true
}

func (r *run) swapAlias(ctx context.Context) error {
	g := &r.gen
	index := g.Targets[registry.StoreElasticsearch]
	alias := esAlias(esView(r.env.Plan, g.View))
	on, err := r.env.esAdmin.AliasIndices(ctx, alias)
	if err != nil {
		return err
	}
	if len(on) == 1 && on[0] == index {
		return nil // swapped already
	}
	sink, err := r.env.esSink(g.View, g.Number)
	if err != nil {
		return err
	}
	defer sink.Close()
	if len(on) == 0 {
		// No daemon wrote the view to Elasticsearch before: nothing to
		// move the alias from.
		return sink.AddAlias(ctx, g.View, g.Number)
	}
	from := r.res.Replaced[registry.StoreElasticsearch]
	if err := sink.SwapAlias(ctx, g.View, from, g.Number); err != nil {
		return fmt.Errorf("view %s: alias %s is on %v: %w", g.View, alias, on, err)
	}
	return nil
}

// activateTx points the view's PostgreSQL readers at generation gen in tx.
func (e *Env) activateTx(ctx context.Context, tx pgx.Tx, view string, gen int) error {
	s, err := e.postgresSink(view, gen)
	if err != nil {
		return err
	}
	return s.ActivateTx(ctx, tx, view, gen)
}

// pointReaders points the view's PostgreSQL readers at the generation the
// registry serves, unless they are there already, with the registry held
// still so that a swap committing meanwhile is not undone. It returns that
// generation.
//
// The reader view's lock is tried for readersLockWait at most: a daemon
// tries again at its next heartbeat, having let readers and the registry
// go meanwhile.
func (e *Env) pointReaders(ctx context.Context, view string) (int, error) {
	var gen int
	err := e.Registry.WithLockWait(readersLockWait).WithServed(ctx, func(tx pgx.Tx, snap registry.Snapshot) error {
		gen = snap.Serving(view, registry.StorePostgres)
		there, err := e.readersOn(ctx, tx, view, gen)
		if err != nil || there {
			return err
		}
		return e.activateTx(ctx, tx, view, gen)
	})
	if err != nil {
		return 0, fmt.Errorf("view %s: point readers at the served generation: %w", view, err)
	}
	return gen, nil
}

// readersLockWait bounds how long pointReaders tries to take the reader
// view's lock: well within InstanceTTL, as a daemon's heartbeat waits for it.
const readersLockWait = 5 * time.Second

// pointAlias moves the view's Elasticsearch alias from generation from to
// generation to; an alias not on from is left alone.
func (e *Env) pointAlias(ctx context.Context, view string, from, to int) error {
	v := esView(e.Plan, view)
	if v == nil || e.esAdmin == nil {
		return fmt.Errorf("view %s: no elasticsearch store configured: %w", view, ErrUnknownView)
	}
	index := esIndex(v, from)
	on, err := e.esAdmin.AliasIndices(ctx, esAlias(v))
	if err != nil || !slices.Contains(on, index) {
		return err
	}
	s, err := e.esSink(view, to)
	if err != nil {
		return err
	}
	defer s.Close()
	return s.SwapAlias(ctx, view, from, to)
}

// restoreReaders points readers that an interrupted swap left on
// generation g (which the registry does not serve) back at the served
// generation, store by store.
func (e *Env) restoreReaders(ctx context.Context, snap registry.Snapshot, g registry.Generation) error {
	stores := e.Stores(g.View)
	if g.Has(registry.StorePostgres) && slices.Contains(stores, registry.StorePostgres) {
		on, err := e.readersOn(ctx, e.Pool, g.View, g.Number)
		if err != nil {
			return err
		}
		if on {
			if _, err := e.pointReaders(ctx, g.View); err != nil {
				return err
			}
		}
	}
	if g.Has(registry.StoreElasticsearch) && slices.Contains(stores, registry.StoreElasticsearch) {
		if err := e.pointAlias(ctx, g.View, g.Number, snap.Serving(g.View, registry.StoreElasticsearch)); err != nil {
			return fmt.Errorf("view %s: point the elasticsearch alias back at the served generation: %w", g.View, err)
		}
	}
	return nil
}

// querier is a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// readersOn reports whether the view's reader view selects from the table
// of generation gen.
func (e *Env) readersOn(ctx context.Context, q querier, view string, gen int) (bool, error) {
	v := pgView(e.Plan, view)
	if v == nil {
		return false, fmt.Errorf("view %s has no postgres sink: %w", view, ErrUnknownView)
	}
	var on bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_depend d JOIN pg_rewrite w ON w.oid = d.objid
		WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
		AND d.refobjid = to_regclass($1) AND w.ev_class = to_regclass($2))`,
		pgTable(v, gen).Sanitize(), pgReader(v).Sanitize()).Scan(&on)
	if err != nil {
		return false, fmt.Errorf("view %s: which generation readers see: %w", view, err)
	}
	return on, nil
}
