package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/internal/testenv"
)

// TestGenerationsFreshDatabase: on a database projector never ran against
// `projector generations` says so, exit 0, and creates nothing (it created
// projector's schema and every state table, and listed each view as an
// active generation). Once a daemon deployed the view it lists it as never
// rebuilt, served in its stores.
func TestGenerationsFreshDatabase(t *testing.T) {
	pgURL := testenv.PostgresURL(t)
	yaml := itemsConfig(pgURL, "", "id: id, name: name, qty: qty", "item_view")
	file := writeConfig(t, yaml)
	code, out, errs := run(t, "generations", "-c", file)
	if code != ExitOK || !strings.Contains(out, "no generations: projector has not run against this database") {
		t.Errorf("generations on a fresh database: exit %d, want %d saying projector has not run\nstdout: %s\nstderr: %s", code, ExitOK, out, errs)
	}
	pool, err := pgxpool.New(context.Background(), pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var schema bool
	if err := pool.QueryRow(context.Background(), `SELECT to_regnamespace('projector') IS NOT NULL`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	if schema {
		t.Error("generations created schema projector")
	}

	deployConfig(t, yaml)
	code, out, errs = run(t, "generations", "item_view", "-c", file)
	if code != ExitOK {
		t.Fatalf("generations of a deployed view: exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	if f := fieldsOf(out, "item_view"); len(f) < 11 || f[1] != "1" || f[2] != "active" || f[4] != "postgres" || f[9] != "postgres" {
		t.Errorf("generations of a deployed view, never rebuilt: %q, want generation 1 active, served in postgres\n%s", f, out)
	}
}

// TestGenerationsServingAndSwapped: SERVING names every store whose
// readers see a generation, Redis (which has no generations) at the one
// that last refilled its keys: after a rebuild of every store it said
// "postgres" where it said "all" before. Generation 1 was never swapped in:
// no SWAPPED time, even from a registry that recorded one. A view no daemon
// deployed says so.
func TestGenerationsServingAndSwapped(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.Local)
	later := t0.Add(time.Hour)
	snap := registry.Snapshot{Version: 7, Generations: []registry.Generation{
		{View: "v", Number: 1, State: registry.Retired, Source: registry.SourceInitial, Stores: []string{"postgres", "redis"}, SwappedAt: &t0},
		{View: "v", Number: 2, State: registry.Active, Source: registry.SourceState, Stores: []string{"postgres", "redis"}, SwappedAt: &later},
		{View: "w", Number: 1, State: registry.Retired, Source: registry.SourceInitial, Stores: []string{"postgres", "redis"}},
		{View: "w", Number: 2, State: registry.Active, Source: registry.SourceState, Stores: []string{"postgres"}, SwappedAt: &later},
	}}
	var b bytes.Buffer
	printGenerations(&b, snap, []viewStores{
		{name: "v", stores: []string{"postgres", "redis"}, deployed: true},
		{name: "w", stores: []string{"postgres", "redis"}, deployed: true},
		{name: "x", stores: []string{"postgres", "redis"}, deployed: true},
		{name: "y", stores: []string{"postgres"}},
	}, nil)
	out := b.String()
	t.Logf("\n%s", out)
	rows := map[string][]string{}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 2 {
			rows[f[0]+"/"+f[1]] = f
		}
	}
	for _, c := range []struct {
		row     string
		swapped string // first field of SWAPPED
		serving string
	}{
		{"v/1", "-", "-"},
		{"v/2", "2026-11-27", "postgres,redis"},
		{"w/1", "-", "redis"},
		{"w/2", "2026-11-27", "postgres"},
		{"x/1", "-", "postgres,redis"},
	} {
		f := rows[c.row]
		i := 8 // SWAPPED (BUILT is "-"); a time takes two fields
		if len(f) < 10 || f[i] != c.swapped {
			t.Errorf("%s: %q, want SWAPPED %s", c.row, f, c.swapped)
			continue
		}
		if c.swapped != "-" {
			i++
		}
		if f[i+1] != c.serving {
			t.Errorf("%s: SERVING %q, want %q", c.row, f[i+1], c.serving)
		}
	}
	if !strings.Contains(out, "not deployed") {
		t.Errorf("a view no daemon deployed is not said to be so:\n%s", out)
	}
}

// fieldsOf is the whitespace-separated fields of the first line of out
// that starts with view.
func fieldsOf(out, view string) []string {
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == view {
			return f
		}
	}
	return nil
}
