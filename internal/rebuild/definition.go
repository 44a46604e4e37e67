package rebuild

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/projectorhq/projector/internal/definition"
	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/internal/stack"
)

// recordDefinitionTx records, in the swap's transaction, the definition
// generation g was computed with: the view's documents follow it from the
// swap on, and a start no longer warns of it. A generation of only some of
// the view's stores (rebuild --sinks) records it only when every
// difference from the recorded definition concerns those stores (a sink
// added, its key or index changed); otherwise the other stores' documents
// still follow the recorded one. What starts recorded beside it (a sink
// put back, stack.StaleFindings) counts as such a difference: the swap
// clears it.
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
			change := definition.Diff(g.View, od, cur)
			change.Findings = append(change.Findings, stack.StaleFindings(old, cur)...)
			if !change.Within(g.Stores) {
				return nil
			}
		}
	}
	return e.Registry.RecordDefinitionTx(ctx, tx, rec)
}

// fingerprints is the fingerprint of the documents each view's definition
// in the environment's configuration writes (view →
// definition.DocumentsFingerprint).
func fingerprints(e *Env) map[string]string {
	out := map[string]string{}
	for name, d := range definition.All(e.Config, e.Plan) {
		out[name] = d.DocumentsFingerprint()
		if t := d.PostgresTable(); t != "" {
			out[name+tableKey] = t
		}
	}
	return out
}

// tableKey follows a view's name in the key of its PostgreSQL table among
// an instance's definitions (definition.PostgresTable): no view name holds
// an @, and instances of earlier versions only look view names up.
const tableKey = "@postgres"

// checkInstancesDefinition refuses a rebuild of view while a live instance
// writes its documents by another definition than this configuration's
// (another key template or index is fine: the rebuild purges the old keys;
// another PostgreSQL table is not, see definition.PostgresTable):
// that instance writes its own documents into the new generation, which
// then fails verification, or fails its writes where the new generation's
// table lacks a column it writes (and stops consuming every view).
// Instances of an earlier version, which send no definitions, are not
// checked.
func (e *Env) checkInstancesDefinition(ctx context.Context, view string) error {
	live, err := e.Registry.Instances(ctx, InstanceTTL)
	if err != nil {
		return err
	}
	def := definition.Of(e.Config, e.Plan.View(view))
	want, table := def.DocumentsFingerprint(), def.PostgresTable()
	computed := false // by some live instance, or maybe (an earlier version's)
	for _, i := range live {
		_, ok := i.Definitions[view]
		computed = computed || ok || len(i.Definitions) == 0
		if got, ok := i.Definitions[view]; ok && got != want {
			return fmt.Errorf("%w: instance %s (%s pid %d) computes view %s by another definition than this file's: deploy this file to every projector run (or stop them), then rebuild",
				ErrOtherDefinition, i.ID, i.Host, i.PID, view)
		}
		if got, ok := i.Definitions[view+tableKey]; ok && got != table {
			return fmt.Errorf("%w: instance %s (%s pid %d) writes view %s to PostgreSQL as %s, this file as %s: deploy this file to every projector run (or stop them), then rebuild",
				ErrOtherDefinition, i.ID, i.Host, i.PID, view, got, table)
		}
	}
	if len(live) > 0 && !computed && e.Log != nil {
		// Not wrong, as a rebuild before the daemons are deployed with the
		// view is right; but once swapped, the documents follow no change
		// until one is.
		e.Log.Warn("no running projector run has this view in its file: its documents will not follow the changes until one does", "view", view, "instances", len(live))
	}
	return nil
}
