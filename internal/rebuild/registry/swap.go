package registry

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// Swap makes a verified generation the active one and retires the one it
// replaces; see SwapWith.
func (r *Registry) Swap(ctx context.Context, view string, number int, verified int64, checksum string) (int64, error) {
	return r.SwapWith(ctx, view, number, verified, checksum, nil)
}

// SwapWith makes a verified generation the active one and retires the one
// it replaces. point, when not nil, runs first in the same transaction: it
// moves readers (the PostgreSQL reader view lives in this database), so
// that readers and the registry move together or not at all. point may
// run more than once: the transaction is tried again while point fails for
// a lock not had in time or with ErrTryAgain (see WithLockWait).
//
// Each target the swap takes a store from is dropped after the new
// generation's Keep. A generation retired by a swap of other stores (a
// rebuild --sinks) keeps serving its remaining stores: its grace period in
// a store starts only when a later swap replaces it there (Droppable).
func (r *Registry) SwapWith(ctx context.Context, view string, number int, verified int64, checksum string, point func(tx pgx.Tx) error) (int64, error) {
	return r.change(ctx, func(tx pgx.Tx) error {
		if point != nil {
			if err := point(tx); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE `+r.ident("generations")+` SET state = 'retired', retired_at = now(),
			drop_after = NULL, updated_at = now() WHERE view = $1 AND state = 'active'`, view); err != nil {
			return fmt.Errorf("registry: retire the active generation of %s: %w", view, err)
		}
		tag, err := tx.Exec(ctx, `UPDATE `+r.ident("generations")+` SET state = 'active', swapped_at = now(),
			verified = $3, checksum = $4, error = '', updated_at = now()
			WHERE view = $1 AND generation = $2 AND state = 'verifying'`, view, number, verified, checksum)
		if err != nil {
			return fmt.Errorf("registry: activate %s generation %d: %w", view, number, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("registry: activate %s generation %d: %w", view, number, ErrConflict)
		}
		return r.noteLastServed(ctx, tx, view, number)
	})
}

// noteLastServed records, for the retired generations of view that the
// swap of generation number left serving no store, when their last target
// goes (DropAfter, shown by `projector generations`).
func (r *Registry) noteLastServed(ctx context.Context, tx pgx.Tx, view string, number int) error {
	gens := r.ident("generations")
	_, err := tx.Exec(ctx, `UPDATE `+gens+` AS o SET drop_after = now() + n.keep, updated_at = now()
		FROM `+gens+` AS n
		WHERE n.view = $1 AND n.generation = $2 AND o.view = $1 AND o.state = 'retired' AND o.drop_after IS NULL
		AND NOT EXISTS (SELECT 1 FROM jsonb_object_keys(o.targets) AS t(store)
			WHERE NOT EXISTS (SELECT 1 FROM `+gens+` AS m WHERE m.view = o.view AND m.generation > o.generation
				AND m.swapped_at IS NOT NULL AND t.store = ANY(m.stores)))`, view, number)
	if err != nil {
		return fmt.Errorf("registry: note the grace period of %s's retired generations: %w", view, err)
	}
	return nil
}

// MarkDropped records that a store's target of a generation is gone.
func (r *Registry) MarkDropped(ctx context.Context, view string, number int, store string) error {
	_, err := r.pool.Exec(ctx, `UPDATE `+r.ident("generations")+` SET dropped = array_append(dropped, $3), updated_at = now()
		WHERE view = $1 AND generation = $2 AND NOT $3 = ANY(dropped)`, view, number, store)
	if err != nil {
		return fmt.Errorf("registry: mark %s generation %d dropped in %s: %w", view, number, store, err)
	}
	return nil
}

// Droppable lists the targets whose generation is no longer served in that
// store, nor written, and whose grace period is over (every one with now
// set to the zero time).
func (s Snapshot) Droppable(view string, now time.Time) []Target {
	var out []Target
	for _, g := range s.Generations {
		if (view != "" && g.View != view) || g.State == Active || g.State.Written() {
			continue
		}
		for store, name := range g.Targets {
			if slices.Contains(g.Dropped, store) || s.Serving(g.View, store) == g.Number || !s.graceOver(g, store, now) {
				continue
			}
			out = append(out, Target{View: g.View, Generation: g.Number, Store: store, Name: name})
		}
	}
	return out
}

// graceOver reports whether the grace period of g's target in store is
// over at now (always, for the zero time). A retired generation's target
// stays for the Keep of the generation that replaced it in that store,
// counted from that swap, which may be later than g's retirement: a swap of
// other stores retires g while it still serves this one. A failed or
// aborted generation's targets stay until its DropAfter.
func (s Snapshot) graceOver(g Generation, store string, now time.Time) bool {
	if now.IsZero() {
		return true
	}
	end := g.DropAfter
	if g.State == Retired {
		by, ok := s.replacedBy(g, store)
		if !ok {
			return false // still served there
		}
		t := by.SwappedAt.Add(by.Keep)
		end = &t
	}
	return end != nil && !end.After(now)
}

// replacedBy is the generation that took store over from g: the first one
// swapped in after it that covers the store.
func (s Snapshot) replacedBy(g Generation, store string) (Generation, bool) {
	var by Generation
	found := false
	for _, m := range s.Generations {
		if m.View == g.View && m.Number > g.Number && m.SwappedAt != nil && m.Has(store) && (!found || m.Number < by.Number) {
			by, found = m, true
		}
	}
	return by, found
}

// Target is one store's physical target of a generation.
type Target struct {
	View       string
	Generation int
	Store      string
	Name       string
}
