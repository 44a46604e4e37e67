package cli

import (
	"encoding/json"
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
)

func newGenerations(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "generations [VIEW]",
		Short: "List the generations of a view (or of every view) and the running instances",
		Long: `generations prints, per view, every generation the registry knows: its state
(building, verifying, active, retired, failed, aborted), where it was filled
from, its stores, the documents filled and verified, when it was built and
swapped in, which stores readers see it in, and which targets were dropped.`,
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
			env, err := rebuild.Open(ctx, cfg, plan, nil)
			if err != nil {
				return &exitError{code: ExitFailure, err: err}
			}
			defer env.Close()
			snap, err := env.Registry.Snapshot(ctx)
			if err != nil {
				return &exitError{code: ExitFailure, err: err}
			}
			live, err := env.Registry.Instances(ctx, rebuild.InstanceTTL)
			if err != nil {
				return &exitError{code: ExitFailure, err: err}
			}
			var views []string
			for _, v := range plan.Views {
				if view == "" || v.Name == view {
					views = append(views, v.Name)
				}
			}
			printGenerations(g.stdout, snap, views, live)
			return nil
		},
	}
}

func printGenerations(w io.Writer, snap registry.Snapshot, views []string, live []registry.Instance) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VIEW\tGEN\tSTATE\tFROM\tSTORES\tDOCS\tVERIFIED\tBUILT\tSWAPPED\tSERVING\tNOTE")
	for _, v := range views {
		gens := snap.Of(v)
		if len(gens) == 0 {
			fmt.Fprintf(tw, "%s\t1\tactive\tinitial\t-\t-\t-\t-\t-\tall\tnever rebuilt\n", v)
			continue
		}
		for _, gen := range gens {
			var serving []string
			for _, s := range gen.Stores {
				if s != registry.StoreRedis && snap.Serving(v, s) == gen.Number {
					serving = append(serving, s)
				}
			}
			docs, verified := "-", "-"
			if gen.Source != registry.SourceInitial {
				docs = strconv.FormatInt(gen.DocsDone, 10)
				if gen.State.Written() && gen.DocsTotal > 0 && !gen.Filled {
					docs += fmt.Sprintf("/~%d", gen.DocsTotal)
				}
				if gen.SwappedAt != nil {
					verified = strconv.FormatInt(gen.Verified, 10)
				}
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v, gen.Number, gen.State, gen.Source,
				strings.Join(gen.Stores, ","), docs, verified, when(gen.FilledAt), when(gen.SwappedAt),
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
	if g.Error != "" && g.State == registry.Failed {
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
