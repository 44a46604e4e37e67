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
// clears it, but for what live instances still leave unwritten (see
// unwritten.go), which it keeps.
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
	live, err := e.Registry.Instances(ctx, InstanceTTL)
	if err != nil {
		return err
	}
	if rec, err = stack.KeepUnwritten(rec, unwritten(lacking(live, g.View, e.Stores(g.View)))); err != nil {
		return err
	}
	return e.Registry.RecordDefinitionTx(ctx, tx, rec)
}

// fingerprints is what every heartbeat says of the definition of each
// view in the environment's configuration: the fingerprint of the
// documents it writes (view → definition.DocumentsFingerprint), and under
// keys of the view's name followed by an @ (no view name holds one, and
// instances of earlier versions only look view names up) what that
// fingerprint leaves out and instances of earlier versions did not send:
// its PostgreSQL table, the declared types of the source columns it reads
// and the stores it writes to. Only the keys an instance sends are
// checked.
func fingerprints(e *Env) map[string]string {
	out := map[string]string{}
	for name, d := range definition.All(e.Config, e.Plan) {
		out[name] = d.DocumentsFingerprint()
		if t := d.PostgresTable(); t != "" {
			out[name+tableKey] = t
		}
		out[name+readsKey] = d.ReadsText()
		out[name+storesKey] = storesText(e.Stores(name))
	}
	return out
}

// tableKey follows a view's name in the key of its PostgreSQL table among
// an instance's definitions (definition.PostgresTable).
const tableKey = "@postgres"

// readsKey follows a view's name in the key of the declared types of the
// source columns it reads among an instance's definitions
// (definition.ReadsText).
const readsKey = "@reads"

// checkInstancesDefinition refuses a rebuild of view while a live instance
// writes its documents by another definition than this configuration's
// (another key template or index is fine: the rebuild purges the old keys;
// another PostgreSQL table is not, see definition.PostgresTable; nor
// another declared type of a column read, see definition.ReadsText):
// that instance writes its own documents into the new generation, which
// then fails verification, or fails its writes where the new generation's
// table lacks a column it writes (and stops consuming every view), or
// holds documents and state rows decoded by the old type that the swap
// records as the new one's. Instances of an earlier version, which send no
// definitions (or not each key), are not checked (for that key). It warns
// of live instances that do not write the view (unwritten.go).
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
		if got, ok := i.Definitions[view+readsKey]; ok {
			if retyped := def.Retyped(got); retyped != "" {
				return fmt.Errorf("%w: instance %s (%s pid %d) decodes the source columns view %s reads by other declared types than this file (%s): deploy this file to every projector run (or stop them), then rebuild",
					ErrOtherDefinition, i.ID, i.Host, i.PID, view, retyped)
			}
		}
	}
	e.warnUnwritten(view, live, lacking(live, view, e.Stores(view)), computed)
	return nil
}
