package rebuild

// A generation abandoned: by --abort, or by a rebuild that failed before
// it did any work on it.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/projectorhq/projector/internal/rebuild/registry"
)

// discardWait bounds how long discarding an untouched generation waits for
// the live instances before it drops the targets (see discardUntouched).
const discardWait = 10 * time.Second

// discardUntouched aborts generation n, which this run registered, when
// the run failed before it did any work on it: no record replayed or row
// read again, no snapshot asked of Debezium, no chunk of the fill
// recorded. Brokers unreachable at the start of a replay, or a daemon slow
// to take the generation up, would otherwise leave a generation that
// refuses every later rebuild of the view until --abort, and that --resume
// would only start again from nothing. An interrupted run (ctx done) keeps
// its generation, as documented: --resume or --abort. The targets are
// dropped; should the live instances not apply the abort in time, they go
// at its DropAfter instead. cause comes back wrapped with ErrDiscarded, or
// as it was when the generation is kept.
func (e *Env) discardUntouched(ctx context.Context, opts Options, res Result, n int, cause error) error {
	if ctx.Err() != nil || res.signaled || res.Replayed > 0 || res.SourceRows > 0 || res.SourceDeleted > 0 || res.Filled > 0 {
		return cause
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), discardWait+30*time.Second)
	defer cancel()
	snap, err := e.Registry.Snapshot(ctx)
	if err != nil {
		return errors.Join(cause, fmt.Errorf("view %s generation %d stays building: %w", opts.View, n, err))
	}
	g, ok := snap.Get(opts.View, n)
	if !ok || g.State != registry.Building || g.Filled || g.Cursor != "" || g.DocsDone > 0 || len(g.Signal) > 0 {
		return cause
	}
	return e.discard(ctx, opts, g, "had no work done yet", cause)
}

// discard aborts generation g, building, for cause (why says what makes
// it not worth resuming) and drops its targets. The caller holds the view
// lock.
func (e *Env) discard(ctx context.Context, opts Options, g registry.Generation, why string, cause error) error {
	version, err := e.Registry.Transition(ctx, g.View, g.Number, []registry.State{registry.Building}, registry.Aborted,
		"discarded: "+cause.Error(), false)
	if err != nil {
		return errors.Join(cause, fmt.Errorf("view %s generation %d stays building: %w", g.View, g.Number, err))
	}
	dropped := "its targets dropped"
	if err := e.dropAbandoned(ctx, g, version, min(opts.WaitTimeout, discardWait)); err != nil {
		opts.Log.Warn("the targets of the discarded generation stay until its drop time", "view", g.View, "generation", g.Number, "err", err)
		dropped = "its targets go at its drop time"
	}
	return fmt.Errorf("%w\n%w: generation %d of view %s %s, so it was aborted and %s; "+
		"readers still see the served generation: rebuild again once the cause is fixed", cause, ErrDiscarded, g.Number, g.View, why, dropped)
}

// Abort abandons the generation of view being built (or failed): the
// daemons stop writing to it and its targets are dropped. Readers that an
// interrupted swap left on it go back to the served generation first.
// Redis keys the fill already rewrote stay: they hold documents computed
// from the current state.
func Abort(ctx context.Context, env *Env, view string, waitTimeout time.Duration) (registry.Generation, error) {
	if waitTimeout <= 0 {
		waitTimeout = time.Minute
	}
	release, err := env.lockView(ctx, view, false)
	if err != nil {
		return registry.Generation{}, err
	}
	defer release()
	snap, err := env.Registry.Snapshot(ctx)
	if err != nil {
		return registry.Generation{}, err
	}
	g, ok := snap.Building(view)
	if !ok {
		g, ok = lastFailed(snap, view)
	}
	if !ok {
		// An abort stopped before its drop is finished: the generation
		// is aborted already, its targets not all dropped.
		if g, ok = lastAbortedUndropped(snap, view); !ok {
			return registry.Generation{}, fmt.Errorf("view %s: %w (nothing to abort)", view, ErrNothingToResume)
		}
	}
	// Before the daemons stop writing it: readers must not be left on a
	// generation nobody updates.
	if err := env.restoreReaders(ctx, snap, g); err != nil {
		return g, err
	}
	version := snap.Version
	if g.State != registry.Aborted {
		from := []registry.State{registry.Building, registry.Verifying, registry.Failed}
		if version, err = env.Registry.Transition(ctx, view, g.Number, from, registry.Aborted, "aborted", false); err != nil {
			return g, err
		}
	}
	err = env.dropAbandoned(ctx, g, version, waitTimeout)
	g.State = registry.Aborted
	return g, err
}

// dropAbandoned drops the targets of an aborted generation g once every
// live instance applied registry version (the abort) and stopped writing
// them, and records them dropped.
func (e *Env) dropAbandoned(ctx context.Context, g registry.Generation, version int64, waitTimeout time.Duration) error {
	// The daemons' writes to a retired target are dropped anyway; waiting
	// spares them failed writes against the dropped table meanwhile.
	if _, err := e.Registry.WaitApplied(ctx, version, InstanceTTL, 100*time.Millisecond, waitTimeout); err != nil {
		return err
	}
	var errs []error
	for _, t := range targetsOf(g) {
		if err := e.dropTarget(ctx, t); err != nil {
			errs = append(errs, err)
			continue
		}
		errs = append(errs, e.Registry.MarkDropped(ctx, g.View, g.Number, t.Store))
	}
	return errors.Join(errs...)
}
