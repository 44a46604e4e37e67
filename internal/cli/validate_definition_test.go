package cli

// validate on an edited file against a deployed view: what the recorded
// definition of the view's documents tells (README, "Changing a view").

import (
	"context"
	"strings"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
)

func itemsConfig(pgURL, where, fields, table string) string {
	if where != "" {
		where = "    where: '" + where + "'\n"
	}
	return `version: 1
kafka: { brokers: "127.0.0.1:1" }
admin: { listen: off }
stores:
  postgres: { url: "` + pgURL + `" }
sources:
  items:
    topic: shop.public.items
    key: id
    columns: { id: bigint, name: text, qty: bigint, color: text }
views:
  item_view:
    from: items
` + where + `    fields: { ` + fields + ` }
    sinks:
      postgres: { table: ` + table + ` }
`
}

// deployConfig wires the stack of a configuration, as `projector run` does
// at start, and stops it: the tables, state and recorded definitions of a
// running deployment.
func deployConfig(t *testing.T, yaml string) {
	t.Helper()
	cfg, err := config.Parse("deployed.yaml", []byte(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := stack.Wire(context.Background(), cfg, plan, nil)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
}

// TestValidateDefinitionChangeNeedsRebuild: edits of a deployed view that
// existing documents do not follow after a plain restart (a filter, a
// table, an expression) are reported at the view as needing a rebuild,
// exit 2, without "applies online"; the file as deployed is ok.
func TestValidateDefinitionChangeNeedsRebuild(t *testing.T) {
	deployed := "id: id, name: name, qty: qty"
	for _, tc := range []struct{ name, where, fields, table, want string }{
		{"where added", "qty > 5", deployed, "item_view", `definition: where: "qty > 5" (was none): needs a rebuild`},
		{"table renamed", "", deployed, "item_list", "definition: postgres table: public.item_list (was public.item_view): needs a rebuild"},
		{"expression changed", "", `id: id, name: { expr: "upper(name)", type: text }, qty: qty`, "item_view", "definition: fields changed: name: needs a rebuild"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pgURL := testenv.PostgresURL(t)
			deployConfig(t, itemsConfig(pgURL, "", deployed, "item_view"))
			p := writeConfig(t, itemsConfig(pgURL, tc.where, tc.fields, tc.table))
			code, out, errs := run(t, "validate", "-c", p)
			if code != ExitUsage || !strings.Contains(errs, tc.want) || !strings.Contains(errs, "`projector rebuild VIEW`") ||
				strings.Contains(out, "applies online") || strings.Contains(out, "ok (") {
				t.Errorf("exit %d, want %d with %q and no \"applies online\"\nstdout: %s\nstderr: %s", code, ExitUsage, tc.want, out, errs)
			}
		})
	}
	t.Run("unchanged", func(t *testing.T) {
		pgURL := testenv.PostgresURL(t)
		deployConfig(t, itemsConfig(pgURL, "", deployed, "item_view"))
		code, out, errs := run(t, "validate", "-c", writeConfig(t, itemsConfig(pgURL, "", deployed, "item_view")))
		if code != ExitOK || strings.Contains(out, "note:") || !strings.Contains(out, "tables: every view applies online") {
			t.Errorf("the deployed file: exit %d\nstdout: %s\nstderr: %s", code, out, errs)
		}
	})
}

// TestValidateAddedFieldIsANote: a field only added applies online, and
// validate says that existing documents lack it until a rebuild.
func TestValidateAddedFieldIsANote(t *testing.T) {
	pgURL := testenv.PostgresURL(t)
	deployConfig(t, itemsConfig(pgURL, "", "id: id, name: name", "item_view"))
	p := writeConfig(t, itemsConfig(pgURL, "", `id: id, name: name, double: { expr: "qty * 2", type: bigint }`, "item_view"))
	code, out, errs := run(t, "validate", "-c", p)
	want := "note: view item_view: fields added: double (existing documents lack them until a rebuild)"
	if code != ExitOK || !strings.Contains(out, want) || !strings.HasSuffix(out, p+": ok (1 sources, 1 views)\n") {
		t.Errorf("exit %d, want 0 with %q\nstdout: %s\nstderr: %s", code, want, out, errs)
	}
}

// TestValidateNamesRemovedView: a view removed from the file keeps its
// table, which readers go on querying, frozen: validate names it.
func TestValidateNamesRemovedView(t *testing.T) {
	pgURL := testenv.PostgresURL(t)
	one := itemsConfig(pgURL, "", "id: id, name: name, qty: qty", "item_view")
	deployConfig(t, one+`  item_names:
    from: items
    fields: { id: id, name: name }
    sinks:
      postgres: { table: item_names }
`)
	code, out, errs := run(t, "validate", "-c", writeConfig(t, one))
	want := "no longer declared keep serving the documents they had, frozen (projector drops nothing): item_names (postgres table public.item_names)"
	if code != ExitOK || !strings.Contains(out, want) {
		t.Errorf("exit %d, want 0 with %q\nstdout: %s\nstderr: %s", code, want, out, errs)
	}
}
