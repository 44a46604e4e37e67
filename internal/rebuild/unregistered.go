package rebuild

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/projectorhq/projector/internal/rebuild/registry"
)

// dropUnregistered drops what a rebuild killed between creating its
// targets and registering its generation left behind in stores: the table
// and index of the view's next generation number. Nothing serves or writes
// a generation the registry does not know, and a rebuild that takes the
// number again must start from empty targets made with its own mapping
// and stores. The caller holds the view lock.
func (e *Env) dropUnregistered(ctx context.Context, view string, n int, stores []string) error {
	var errs []error
	for store, name := range e.targets(view, n, stores) {
		errs = append(errs, e.dropTarget(ctx, registry.Target{View: view, Generation: n, Store: store, Name: name}))
	}
	return errors.Join(errs...)
}

// unregisteredWait bounds dropUnregisteredElsewhere.
const unregisteredWait = 5 * time.Second

// dropUnregisteredElsewhere drops, if they answer soon, what a killed
// rebuild left under generation n in the view's stores this rebuild does
// not write (--sinks): one that is down, the very incident in which the
// others are repaired, must not stop it. What stays there is harmless (the
// generation registered as n names only this rebuild's stores, so nothing
// serves, writes or checks it), but no later rebuild drops it either: they
// take higher numbers. The warning names it.
func (e *Env) dropUnregisteredElsewhere(ctx context.Context, opts Options, n int, stores []string) {
	var others []string
	for _, s := range e.Stores(opts.View) {
		if !slices.Contains(stores, s) {
			others = append(others, s)
		}
	}
	left := e.targets(opts.View, n, others)
	if len(left) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, unregisteredWait)
	defer cancel()
	if err := e.dropUnregistered(ctx, opts.View, n, others); err != nil {
		opts.Log.Warn("what a killed rebuild may have left in a store this rebuild does not write is not dropped: drop it by hand if it exists",
			"view", opts.View, "generation", n, "targets", left, "err", err)
	}
}

// targetsOf lists every target of a generation that is never served,
// including those the registry records as dropped: dropping is idempotent,
// and a --resume that died after creating them again left them recorded so.
func targetsOf(g registry.Generation) []registry.Target {
	out := make([]registry.Target, 0, len(g.Targets))
	for store, name := range g.Targets {
		out = append(out, registry.Target{View: g.View, Generation: g.Number, Store: store, Name: name})
	}
	return out
}
