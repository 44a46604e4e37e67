package rebuild

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/projectorhq/projector/internal/definition"
	"github.com/projectorhq/projector/internal/rebuild/registry"
)

// recordDefinitionTx records, in the swap's transaction, the definition
// generation g was computed with: the view's documents follow it from the
// swap on, and a start no longer warns of it. A generation of only some of
// the view's stores (rebuild --sinks) records it only when every
// difference from the recorded definition concerns those stores (a sink
// added, its key or index changed); otherwise the other stores' documents
// still follow the recorded one.
func (e *Env) recordDefinitionTx(ctx context.Context, tx pgx.Tx, g registry.Generation) error {
	v := e.Plan.View(g.View)
	if v == nil {
		return nil
	}
	cur := definition.Of(e.Config, v)
	rec := registry.Definition{View: g.View, JSON: cur.JSON(), Fingerprint: cur.Fingerprint(), Generation: g.Number}
	if slices.ContainsFunc(e.Stores(g.View), func(s string) bool { return !g.Has(s) }) {
		old, ok, err := e.Registry.DefinitionTx(ctx, tx, g.View)
		if err != nil {
			return err
		}
		if ok {
			od, err := definition.Parse(old.JSON)
			if err != nil {
				return fmt.Errorf("view %s: recorded %w", g.View, err)
			}
			if !definition.Diff(g.View, od, cur).Within(g.Stores) {
				return nil
			}
		}
	}
	return e.Registry.RecordDefinitionTx(ctx, tx, rec)
}
