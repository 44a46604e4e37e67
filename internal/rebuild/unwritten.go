package rebuild

import (
	"fmt"
	"slices"
	"strings"

	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/internal/stack"
)

// A live instance whose file lacks a view, or one of its sinks, does not
// write those documents: they miss every change it applies. Its start
// recorded so beside the view's definition (internal/stack/stale.go), but
// a rebuild's swap records the definition afresh, which would clear it
// while the instance goes on. So a rebuild goes ahead (it brings the
// documents up to the swap, better than frozen, and a rolling deploy in
// progress need not wait for it), warns naming those instances, and its
// swap keeps the view marked as needing a rebuild: every start and
// `projector validate` go on saying so until one swaps while every
// running instance writes the view.

// storesKey follows a view's name in the key of the stores an instance
// writes its documents to among its definitions ("postgres,redis";
// Env.Stores): instances of earlier versions send none, so that one
// lacking a sink is told apart from one that does not say.
const storesKey = "@stores"

// storesText is the value of storesKey.
func storesText(stores []string) string {
	return strings.Join(stores, ",")
}

// lack is a live instance that does not write view's documents to store,
// or not at all ("" store: its file does not declare the view).
type lack struct {
	inst  registry.Instance
	store string
}

func (l lack) String() string {
	i := l.inst
	if l.store == "" {
		return fmt.Sprintf("instance %s (%s pid %d) runs a file without the view", i.ID, i.Host, i.PID)
	}
	return fmt.Sprintf("instance %s (%s pid %d) does not write the view to %s (its sink taken out of its file, or the store without a URL)",
		i.ID, i.Host, i.PID, l.store)
}

// lacking lists what the live instances do not write of view, whose
// documents this file writes to stores. Instances of earlier versions are
// not counted: those sending no definitions for lacking the view, those
// sending no stores for lacking a sink.
func lacking(live []registry.Instance, view string, stores []string) []lack {
	var out []lack
	for _, i := range live {
		if len(i.Definitions) == 0 {
			continue
		}
		if _, ok := i.Definitions[view]; !ok {
			out = append(out, lack{inst: i})
			continue
		}
		has, ok := i.Definitions[view+storesKey]
		if !ok {
			continue
		}
		for _, s := range stores {
			if !slices.Contains(strings.Split(has, ","), s) {
				out = append(out, lack{inst: i, store: s})
			}
		}
	}
	return out
}

// unwritten is what lacks leave stale, as the swap keeps it.
func unwritten(lacks []lack) stack.Unwritten {
	var u stack.Unwritten
	for _, l := range lacks {
		switch {
		case l.store == "":
			u.Undeclared = true
		case !slices.Contains(u.Sinks, l.store):
			u.Sinks = append(u.Sinks, l.store)
		}
	}
	return u
}

// warnUnwritten warns that the live instances lacks name do not write
// view, and that the swap keeps the view marked as needing a rebuild
// (when none of live computes it, in one warning).
func (e *Env) warnUnwritten(view string, live []registry.Instance, lacks []lack, computed bool) {
	if e.Log == nil || len(live) == 0 {
		return
	}
	const after = "the swap keeps the view recorded as needing a rebuild: deploy this file to every projector run, then rebuild again"
	if !computed {
		// A view added to the file, rebuilt before the daemons get it:
		// once swapped, its documents follow no change until one does,
		// and miss those made until then.
		ids := make([]string, len(lacks))
		for n, l := range lacks {
			ids[n] = l.inst.ID
		}
		e.Log.Warn("no running projector run has this view in its file: its documents will not follow the changes until one does; "+after,
			"view", view, "instances", len(live), "without_view", strings.Join(ids, ", "))
		return
	}
	for _, l := range lacks {
		e.Log.Warn(l.String()+": the view's documents miss every change it applies; "+after, "view", view, "instance", l.inst.ID)
	}
}
