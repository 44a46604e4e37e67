package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/projectorhq/projector/internal/rebuild"
	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/internal/stack"
)

func newGenerations(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "generations [VIEW]",
		Short: "List the generations of a view (or of every view) and the running instances",
		Long: `generations prints, per view, every generation the registry knows: its state
(building, verifying, active, retired, failed, aborted), where it was filled
from, its stores, the documents filled and verified, when it was built and
swapped in, which stores readers see it in (SERVING; Redis, which has no
generations, at the generation that last refilled its keys), and which
targets were dropped. It only reads: on a database projector never ran
against it says so and creates nothing.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, plan, err := g.loadPlan()
			if err != nil {
				return err
			}
			view := ""
			if len(args) == 1 {
				view = args[0]
				if plan.View(view) == nil {
					return usageError(fmt.Errorf("view %q is not declared in %s", view, cfg.File))
				}
			}
			ctx := cmd.Context()
			reg, release, err := rebuild.OpenRegistry(ctx, cfg)
			if errors.Is(err, rebuild.ErrNotDeployed) {
				// Nothing to list is an answer, not a failure.
				fmt.Fprintf(g.stdout, "no generations: %v\n", err)
				return nil
			}
			if stack.RefusedPostgres(err) {
				// As run, serve and rebuild: the URL is wrong, no retry fixes it.
				return usageError(fmt.Errorf("stores.postgres.url: %w", err))
			}
			if err != nil {
				return &exitError{code: ExitFailure, err: err}
			}
			defer release()
			snap, err := reg.Snapshot(ctx)
			if err != nil {
				return &exitError{code: ExitFailure, err: err}
			}
			live, err := reg.Instances(ctx, rebuild.InstanceTTL)
			if err != nil {
				return &exitError{code: ExitFailure, err: err}
			}
			defs, err := reg.Definitions(ctx)
			if err != nil {
				return &exitError{code: ExitFailure, err: err}
			}
			var views []viewStores
			for _, v := range plan.Views {
				if view == "" || v.Name == view {
					// A registry older than the recorded definitions
					// (defs nil) cannot tell: the view counts as deployed.
					_, deployed := defs[v.Name]
					views = append(views, viewStores{name: v.Name, stores: rebuild.StoresOf(cfg, plan, v.Name), deployed: deployed || defs == nil})
				}
			}
			printGenerations(g.stdout, snap, views, live)
			return nil
		},
	}
}

// viewStores is a declared view as the listing shows it: the stores it is
// written to in the configuration, and whether a daemon deployed it.
type viewStores struct {
	name     string
	stores   []string
	deployed bool
}

func printGenerations(w io.Writer, snap registry.Snapshot, views []viewStores, live []registry.Instance) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VIEW\tGEN\tSTATE\tFROM\tSTORES\tDOCS\tVERIFIED\tBUILT\tSWAPPED\tSERVING\tNOTE")
	for _, vs := range views {
		v := vs.name
		gens := snap.Of(v)
		if len(gens) == 0 {
			stores := orDash(strings.Join(vs.stores, ","))
			if !vs.deployed {
				fmt.Fprintf(tw, "%s\t-\t-\t-\t%s\t-\t-\t-\t-\t-\tnot deployed: no daemon has run with it\n", v, stores)
				continue
			}
			fmt.Fprintf(tw, "%s\t1\tactive\tinitial\t%s\t-\t-\t-\t-\t%s\tnever rebuilt\n", v, stores, stores)
			continue
		}
		for _, gen := range gens {
			// Redis has no generations: its keys are listed at the
			// generation that last refilled them.
			var serving []string
			for _, s := range gen.Stores {
				if snap.Serving(v, s) == gen.Number {
					serving = append(serving, s)
				}
			}
			docs, verified, swapped := "-", "-", "-"
			if gen.Source != registry.SourceInitial {
				docs = strconv.FormatInt(gen.DocsDone, 10)
				if gen.State.Written() && gen.DocsTotal > 0 && !gen.Filled {
					docs += fmt.Sprintf("/~%d", gen.DocsTotal)
				}
				if gen.SwappedAt != nil {
					verified = strconv.FormatInt(gen.Verified, 10)
				}
				// The initial generation was never swapped in (registries
				// written before this release give it the time of the
				// view's first rebuild).
				swapped = when(gen.SwappedAt)
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v, gen.Number, gen.State, gen.Source,
				strings.Join(gen.Stores, ","), docs, verified, when(gen.FilledAt), swapped,
				orDash(strings.Join(serving, ",")), note(gen))
		}
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "\nregistry version %d; %d live instance(s)", snap.Version, len(live))
	if len(live) > 0 {
		var parts []string
		for _, i := range live {
			parts = append(parts, fmt.Sprintf("%s (applied %d)", i.ID, i.AppliedVersion))
		}
		fmt.Fprintf(w, ": %s", strings.Join(parts, ", "))
	}
	fmt.Fprintln(w)
}

func note(g registry.Generation) string {
	var parts []string
	// An aborted generation's error says why when a rebuild discarded it
	// (rebuild.ErrDiscarded); --abort's says only "aborted".
	if g.Error != "" && (g.State == registry.Failed || g.State == registry.Aborted && g.Error != "aborted") {
		e := g.Error
		if len(e) > 120 {
			e = e[:120] + "…"
		}
		parts = append(parts, e)
	}
	if len(g.Signal) > 0 && g.State.Written() {
		var sig struct {
			ID     string    `json:"id"`
			SentAt time.Time `json:"sent_at"`
		}
		if json.Unmarshal(g.Signal, &sig) == nil {
			parts = append(parts, fmt.Sprintf("incremental snapshot %s requested %s", sig.ID, sig.SentAt.Local().Format(time.DateTime)))
		}
	}
	var dropped []string
	for s := range g.Targets {
		if slices.Contains(g.Dropped, s) {
			dropped = append(dropped, s)
		}
	}
	slices.Sort(dropped)
	if len(dropped) > 0 {
		parts = append(parts, "dropped "+strings.Join(dropped, ","))
	} else if g.DropAfter != nil && (g.State == registry.Retired || g.State == registry.Failed || g.State == registry.Aborted) {
		parts = append(parts, "drop after "+g.DropAfter.Local().Format(time.DateTime))
	}
	return strings.Join(parts, "; ")
}

func when(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Local().Format(time.DateTime)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
