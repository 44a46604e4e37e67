package stack

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/definition"
	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/projector"
)

// Drift is how the views of a configuration differ from the definitions
// the registry recorded for their served documents.
type Drift struct {
	// Changes are the views whose definition changed, or whose documents
	// miss changes or rows (see stale.go), in the plan's order.
	Changes []definition.Change
	Removed []Undeclared // recorded views the configuration no longer declares, by name
	// New are the definitions of the views with none recorded: a first
	// deployment records them.
	New []registry.Definition

	stale  map[string][]definition.Finding // of Changes, those stale.go tells, by view
	freeze map[string]staleness            // what a start with this configuration leaves stale, by view, not recorded yet
	left   map[string]staleness            // all it leaves stale, by view
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
	d := Drift{stale: map[string][]definition.Finding{}, freeze: map[string]staleness{}, left: map[string]staleness{}}
	for _, v := range plan.Views {
		cur := definition.Of(cfg, v)
		rec, ok := recorded[v.Name]
		if !ok {
			if err := d.deploy(ctx, reg, v, cur); err != nil {
				return Drift{}, err
			}
			continue
		}
		stale := staleOf(rec.JSON)
		if rec.Fingerprint == cur.Fingerprint() && stale.empty() {
			continue
		}
		old, err := definition.Parse(rec.JSON)
		if err != nil {
			return Drift{}, fmt.Errorf("view %s: recorded %w", v.Name, err)
		}
		var unwritten staleness // the recorded sinks this file does not write
		for _, store := range stores(old.Sinks) {
			if sinkTarget(cur.Sinks, store) == "" {
				unwritten.Sinks = append(unwritten.Sinks, store)
			}
		}
		d.leaves(v.Name, stale, unwritten)
		c := definition.Diff(v.Name, old, cur)
		d.stale[v.Name] = staleFindings(v.Name, stale, cur)
		c.Findings = append(c.Findings, d.stale[v.Name]...)
		if len(c.Findings) > 0 {
			d.Changes = append(d.Changes, c)
		}
	}
	for name, rec := range recorded {
		if plan.View(name) != nil {
			continue
		}
		u := Undeclared{View: name}
		if old, err := definition.Parse(rec.JSON); err == nil {
			for _, store := range stores(old.Sinks) {
				u.Targets = append(u.Targets, sinkTarget(old.Sinks, store))
			}
		}
		d.Removed = append(d.Removed, u)
		d.leaves(name, staleOf(rec.JSON), staleness{Undeclared: true})
	}
	slices.SortFunc(d.Removed, func(a, b Undeclared) int { return strings.Compare(a.View, b.View) })
	return d, nil
}

// deploy adds view v, of which no definition is recorded, to the views a
// start records the definition cur of. One over a state already holding
// rows is a change too: it has no document for them until they change, or
// a rebuild.
func (d *Drift) deploy(ctx context.Context, reg *registry.Registry, v *projections.View, cur definition.Definition) error {
	def := registry.Definition{View: v.Name, JSON: cur.JSON(), Fingerprint: cur.Fingerprint(), Generation: 1}
	filled, err := projector.StateHoldsRows(ctx, reg.Pool(), reg.Schema(), v.Root)
	if err != nil {
		return fmt.Errorf("view %s: %w", v.Name, err)
	}
	if filled {
		over := staleness{OverRows: v.Root.Name}
		if def.JSON, err = withStale(def.JSON, over); err != nil {
			return err
		}
		d.stale[v.Name] = staleFindings(v.Name, over, cur)
		d.Changes = append(d.Changes, definition.Change{View: v.Name, Findings: d.stale[v.Name]})
	}
	d.New = append(d.New, def)
	return nil
}

// leaves notes that a start with this configuration leaves stale what s
// says of view, when the registry does not record it yet.
func (d *Drift) leaves(view string, recorded, s staleness) {
	if !s.empty() {
		d.left[view] = s
	}
	if add := s.adds(recorded); !add.empty() {
		d.freeze[view] = add
	}
}

// checkDefinitions is the start's comparison: one warning per view whose
// documents do not follow its definition or miss changes or rows, one
// naming the views no longer declared; the definitions of views deployed
// for the first time recorded, and what this start leaves stale (see
// stale.go). An edited definition is not recorded: every start says so
// until a rebuild swaps a generation computed with it in. It returns what
// the start leaves stale, by view, for StampStale.
func checkDefinitions(ctx context.Context, reg *registry.Registry, cfg *config.Config, plan *projections.Plan, log *slog.Logger) (map[string]staleness, error) {
	d, err := CompareDefinitions(ctx, reg, cfg, plan)
	if err != nil {
		return nil, err
	}
	for _, c := range d.Changes {
		warnStale(log, c.View, d.stale[c.View])
		c.Findings = slices.DeleteFunc(slices.Clone(c.Findings), func(f definition.Finding) bool { return slices.Contains(d.stale[c.View], f) })
		warnChange(log, c)
	}
	if len(d.Removed) > 0 {
		names := make([]string, len(d.Removed))
		for i, u := range d.Removed {
			names[i] = u.String()
		}
		log.Warn("views no longer declared keep serving the documents they had, frozen; nothing is dropped: "+strings.Join(names, "; "),
			"views", len(names))
	}
	if err := reg.DeployDefinitions(ctx, d.New); err != nil {
		return nil, err
	}
	for _, view := range slices.Sorted(maps.Keys(d.freeze)) {
		if err := recordStale(ctx, reg, view, d.freeze[view]); err != nil {
			return nil, err
		}
	}
	return d.left, nil
}

// warnChange warns of a changed definition, saying whether the documents
// follow it before a rebuild.
func warnChange(log *slog.Logger, c definition.Change) {
	switch {
	case len(c.Findings) == 0:
	case c.NeedsRebuild():
		attrs := []any{"view", c.View, "changed", strings.Join(c.Texts(true), "; ")}
		if notes := c.Texts(false); len(notes) > 0 {
			attrs = append(attrs, "notes", strings.Join(notes, "; "))
		}
		log.Warn(fmt.Sprintf("view %s changed since its documents were computed: they follow the previous definition until `projector rebuild %s`", c.View, c.View), attrs...)
	default:
		log.Warn(fmt.Sprintf("view %s changed since its documents were computed: documents written from now on follow it, untouched ones only after `projector rebuild %s`", c.View, c.View),
			"view", c.View, "notes", strings.Join(c.Texts(false), "; "))
	}
}

// warnStale warns of what a view's documents miss (staleFindings), each
// once.
func warnStale(log *slog.Logger, view string, findings []definition.Finding) {
	for _, f := range findings {
		msg := "view " + view + " " + f.Text
		if f.Rebuild {
			msg += ", until `projector rebuild " + view + "`"
		}
		log.Warn(msg, "view", view)
	}
}
