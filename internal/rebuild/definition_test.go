package rebuild

// What a restart with an edited view says (internal/stack checkDefinitions),
// and that a rebuild's swap records the definition its documents follow.

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/projections"
)

// warnLog keeps what a logger wrote at warn and above.
type warnLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *warnLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *warnLog) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// edit replaces text of the fixture's configuration (itemsYAML or the
// YAML given), as an operator editing the file before a restart.
func (f *fixture) edit(yaml string, replace ...string) {
	f.t.Helper()
	env := map[string]string{"PG": f.cfg.Stores.Postgres.URL, "REDIS": f.cfg.Stores.Redis.URL, "PREFIX": f.prefix}
	for i := 0; i < len(replace); i += 2 {
		if !strings.Contains(yaml, replace[i]) {
			f.t.Fatalf("edit: %q is not in the configuration", replace[i])
		}
		yaml = strings.ReplaceAll(yaml, replace[i], replace[i+1])
	}
	cfg, err := config.Parse("test.yaml", []byte(yaml), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		f.t.Fatalf("config:\n%v", err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		f.t.Fatalf("plan:\n%v", err)
	}
	f.cfg, f.plan = cfg, plan
}

// restart wires the stack as `projector run` does at start and stops it,
// returning its warnLog.
func (f *fixture) restart() string {
	f.t.Helper()
	w := &warnLog{}
	st, err := stack.Wire(context.Background(), f.cfg, f.plan, slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		f.t.Fatalf("restart: %v", err)
	}
	st.Close()
	return w.String()
}

func wantWarning(t *testing.T, logs string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(logs, w) {
			t.Errorf("start's warnLog lack %q:\n%s", w, logs)
		}
	}
}

// TestStartWarnsOfChangedDefinition: after each edit existing documents do
// not follow until a rebuild, every start warns, naming the view, what
// changed and the command; the first deployment and an unchanged restart
// warn of nothing.
func TestStartWarnsOfChangedDefinition(t *testing.T) {
	for _, tc := range []struct {
		name     string
		replace  []string
		keys     map[string]string
		want     []string
		unwanted string
	}{
		{name: "where", replace: []string{`where: 'not (name startsWith "hidden")'`, `where: 'qty > 5'`},
			want: []string{`changed="where: \"qty > 5\" (was \"not (name startsWith \\\"hidden\\\")\")"`}},
		{name: "expression", replace: []string{`fields: { id: id, name: name, qty: qty }`, `fields: { id: id, name: { expr: "upper(name)", type: text }, qty: qty }`},
			want: []string{`changed="fields changed: name"`}},
		{name: "field added", replace: []string{`fields: { id: id, name: name, qty: qty }`, `fields: { id: id, name: name, qty: qty, double: { expr: "qty * 2", type: bigint } }`},
			want: []string{"documents written from now on follow it", `notes="fields added: double (existing documents lack them until a rebuild)"`}, unwanted: "changed="},
		{name: "redis key", keys: map[string]string{"item_view": "thing:{id}"},
			want: []string{"redis key: ", "thing:{id} (was ", "untouched documents are not found under it"}},
		{name: "table", replace: []string{`postgres: { table: item_view }`, `postgres: { table: item_list }`},
			want: []string{`changed="postgres table: public.item_list (was public.item_view)"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			if logs := f.restart(); logs != "" {
				t.Errorf("first deployment warned: %s", logs)
			}
			if logs := f.restart(); logs != "" {
				t.Errorf("unchanged restart warned: %s", logs)
			}
			if tc.keys != nil {
				f.setRedisKeys(tc.keys)
			} else {
				f.edit(itemsYAML, tc.replace...)
			}
			for range 2 { // not recorded at start: every start says so
				logs := f.restart()
				wantWarning(t, logs, append(tc.want, "view item_view changed", "`projector rebuild item_view`")...)
				if tc.unwanted != "" && strings.Contains(logs, tc.unwanted) {
					t.Errorf("warnLog have %q:\n%s", tc.unwanted, logs)
				}
			}
		})
	}
}

// TestStartWarnsOfRemovedFieldWithRedisOnly: Redis has no table to compare
// with; the recorded definition tells that a field was removed.
func TestStartWarnsOfRemovedFieldWithRedisOnly(t *testing.T) {
	f := newFixture(t)
	f.edit(itemsYAML, "      postgres: { table: item_view }\n", "")
	d := f.startDaemon()
	f.seed(d, 1, 3)
	d.stop()
	f.edit(itemsYAML, "      postgres: { table: item_view }\n", "", `fields: { id: id, name: name, qty: qty }`, `fields: { id: id, name: name }`)
	wantWarning(t, f.restart(), "view item_view changed", `changed="fields removed: qty"`, "`projector rebuild item_view`")
}

// TestStartNamesUndeclaredViews: a view removed from the file is named in
// one warning with the targets it stays in; nothing is dropped.
func TestStartNamesUndeclaredViews(t *testing.T) {
	f := newFixture(t)
	f.restart()
	f.edit(itemsYAML, "      elasticsearch: { index: items }\n", "      elasticsearch: { index: items }\n  other_view:\n    from: items\n    fields: { id: id, name: name }\n    sinks:\n      postgres: { table: other_view }\n")
	f.restart()
	f.edit(itemsYAML)
	logs := f.restart()
	wantWarning(t, logs, "views no longer declared keep serving the documents they had, frozen; nothing is dropped: other_view (postgres table public.other_view)")
	if strings.Count(logs, "level=WARN") != 1 {
		t.Errorf("want one warning:\n%s", logs)
	}
	var n int
	if err := f.pool.QueryRow(context.Background(), `SELECT count(*) FROM other_view`).Scan(&n); err != nil {
		t.Errorf("other_view's table is gone: %v", err)
	}
}

// TestRebuildRecordsDefinitionAtSwap: once a rebuild swapped in a
// generation computed with the edited definition, a start no longer warns;
// a rebuild of other stores than those the change concerns records
// nothing.
func TestRebuildRecordsDefinitionAtSwap(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	f.seed(d, 1, 5)
	d.stop()
	ctx := context.Background()

	f.edit(itemsYAML, `where: 'not (name startsWith "hidden")'`, `where: 'qty > 2'`)
	env := f.openEnv()
	if _, err := Run(ctx, env, Options{View: "item_view", Keep: 0, Stores: []string{registry.StoreRedis}}); err != nil {
		t.Fatal(err)
	}
	wantWarning(t, f.restart(), `changed="where: \"qty > 2\"`)

	if _, err := Run(ctx, env, Options{View: "item_view", Keep: 0}); err != nil {
		t.Fatal(err)
	}
	if logs := f.restart(); logs != "" {
		t.Errorf("after the rebuild's swap, start warned: %s", logs)
	}
	defs, err := env.Registry.Definitions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if g := defs["item_view"].Generation; g != 3 {
		t.Errorf("definition recorded by generation %d, want 3", g)
	}

	// A new key template concerns Redis only: rebuilding Redis records it.
	f.setRedisKeys(map[string]string{"item_view": "thing:{id}"})
	env = f.openEnv()
	if _, err := Run(ctx, env, Options{View: "item_view", Keep: 0, Stores: []string{registry.StoreRedis}}); err != nil {
		t.Fatal(err)
	}
	if logs := f.restart(); logs != "" {
		t.Errorf("after a rebuild of redis for a new key template, start warned: %s", logs)
	}
}
