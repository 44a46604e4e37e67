package registry

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Transition moves a generation from one of the states in from to state
// to, recording errText (for Failed) and, when restart is set, forgetting
// the fill's progress, the signal sent and the targets dropped (a restart
// creates them again). It fails with ErrConflict when the generation is in
// another state.
func (r *Registry) Transition(ctx context.Context, view string, number int, from []State, to State, errText string, restart bool) (int64, error) {
	return r.transition(ctx, view, number, from, to, errText, restart, nil)
}

// Restart moves a failed generation to state to (Failed again, or
// Building) as Transition with restart does, and records targets as the
// names of its targets in their stores, in the same change: a restart
// creates them again under the names of the file it runs with, which may
// not be those the generation was recorded with (an index or table renamed
// since). The verification, the swap, the daemons' routes and the drop all
// read the recorded names; the daemons apply them with the new state. A
// store targets does not name keeps its recorded target.
func (r *Registry) Restart(ctx context.Context, view string, number int, to State, errText string, targets map[string]string) (int64, error) {
	if targets == nil {
		targets = map[string]string{}
	}
	return r.transition(ctx, view, number, []State{Failed}, to, errText, true, targets)
}

// transition is Transition, recording targets over the generation's own
// when not nil.
func (r *Registry) transition(ctx context.Context, view string, number int, from []State, to State, errText string, restart bool, targets map[string]string) (int64, error) {
	f := make([]string, len(from))
	for i, s := range from {
		f[i] = string(s)
	}
	var t any // NULL: the targets stay
	if targets != nil {
		t = targets
	}
	return r.change(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE `+r.ident("generations")+` SET state = $3, error = $4, updated_at = now(),
			cursor = CASE WHEN $6 THEN '' ELSE cursor END, filled = filled AND NOT $6,
			docs_done = CASE WHEN $6 THEN 0 ELSE docs_done END, signal = CASE WHEN $6 THEN NULL ELSE signal END,
			dropped = CASE WHEN $6 THEN '{}' ELSE dropped END,
			targets = targets || coalesce($7::jsonb, '{}'),
			drop_after = CASE WHEN $3 IN ('failed', 'aborted') THEN now() + keep ELSE NULL END
			WHERE view = $1 AND generation = $2 AND state = ANY($5)`, view, number, string(to), errText, f, restart, t)
		if err != nil {
			return fmt.Errorf("registry: view %s generation %d to %s: %w", view, number, to, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("registry: view %s generation %d to %s: %w", view, number, to, ErrConflict)
		}
		return nil
	})
}
