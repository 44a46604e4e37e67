package stack

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/definition"
	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/projections"
)

// Drift is how the views of a configuration differ from the definitions
// the registry recorded for their served documents.
type Drift struct {
	Changes []definition.Change // views whose definition changed, in the plan's order
	Removed []Undeclared        // recorded views the configuration no longer declares, by name
	// New are the definitions of the views with none recorded: a first
	// deployment records them.
	New []registry.Definition
}

// Undeclared is a recorded view the configuration no longer declares, with
// the targets its documents stay in.
type Undeclared struct {
	View    string
	Targets []string // "postgres table public.t", "redis keys k:{id}", "elasticsearch index i"
}

// String names the view and where its documents stay.
func (u Undeclared) String() string {
	if len(u.Targets) == 0 {
		return u.View
	}
	return u.View + " (" + strings.Join(u.Targets, ", ") + ")"
}

// CompareDefinitions compares each view of plan with the definition the
// registry recorded for it, changing nothing.
func CompareDefinitions(ctx context.Context, reg *registry.Registry, cfg *config.Config, plan *projections.Plan) (Drift, error) {
	recorded, err := reg.Definitions(ctx)
	if err != nil {
		return Drift{}, err
	}
	var d Drift
	for _, v := range plan.Views {
		cur := definition.Of(cfg, v)
		rec, ok := recorded[v.Name]
		if !ok {
			d.New = append(d.New, registry.Definition{View: v.Name, JSON: cur.JSON(), Fingerprint: cur.Fingerprint(), Generation: 1})
			continue
		}
		if rec.Fingerprint == cur.Fingerprint() {
			continue
		}
		old, err := definition.Parse(rec.JSON)
		if err != nil {
			return Drift{}, fmt.Errorf("view %s: recorded %w", v.Name, err)
		}
		if c := definition.Diff(v.Name, old, cur); len(c.Findings) > 0 {
			d.Changes = append(d.Changes, c)
		}
	}
	for name, rec := range recorded {
		if plan.View(name) != nil {
			continue
		}
		u := Undeclared{View: name}
		if old, err := definition.Parse(rec.JSON); err == nil {
			if p := old.Sinks.Postgres; p != nil {
				u.Targets = append(u.Targets, "postgres table "+p.Schema+"."+p.Table)
			}
			if r := old.Sinks.Redis; r != nil {
				u.Targets = append(u.Targets, "redis keys "+r.Key)
			}
			if e := old.Sinks.Elasticsearch; e != nil {
				u.Targets = append(u.Targets, "elasticsearch index "+e.Index)
			}
		}
		d.Removed = append(d.Removed, u)
	}
	slices.SortFunc(d.Removed, func(a, b Undeclared) int { return strings.Compare(a.View, b.View) })
	return d, nil
}

// checkDefinitions is the start's comparison: one warning per view whose
// documents do not follow its definition, one naming the views no longer
// declared, and the definitions of views deployed for the first time
// recorded. An edited definition is not recorded: every start says so
// until a rebuild swaps a generation computed with it in.
func checkDefinitions(ctx context.Context, reg *registry.Registry, cfg *config.Config, plan *projections.Plan, log *slog.Logger) error {
	d, err := CompareDefinitions(ctx, reg, cfg, plan)
	if err != nil {
		return err
	}
	for _, c := range d.Changes {
		if c.NeedsRebuild() {
			attrs := []any{"view", c.View, "changed", strings.Join(c.Texts(true), "; ")}
			if notes := c.Texts(false); len(notes) > 0 {
				attrs = append(attrs, "notes", strings.Join(notes, "; "))
			}
			log.Warn(fmt.Sprintf("view %s changed since its documents were computed: they follow the previous definition until `projector rebuild %s`", c.View, c.View), attrs...)
			continue
		}
		log.Warn(fmt.Sprintf("view %s changed since its documents were computed: documents written from now on follow it, untouched ones only after `projector rebuild %s`", c.View, c.View),
			"view", c.View, "notes", strings.Join(c.Texts(false), "; "))
	}
	if len(d.Removed) > 0 {
		names := make([]string, len(d.Removed))
		for i, u := range d.Removed {
			names[i] = u.String()
		}
		log.Warn("views no longer declared keep serving the documents they had, frozen; nothing is dropped: "+strings.Join(names, "; "),
			"views", len(names))
	}
	return reg.DeployDefinitions(ctx, d.New)
}
