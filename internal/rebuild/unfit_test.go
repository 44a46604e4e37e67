package rebuild

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/internal/testenv"
)

// TestRebuildFromSourceServedTableUnfit: with every daemon stopped, the
// file adds a field and the view is rebuilt --from source before a daemon
// runs it (README: a change is applied with the daemons stopped). The
// served table lacks the new column: the re-read leaves it as it is, with
// a warning, instead of retrying writes it can never take, and the swap
// serves every row with the column.
func TestRebuildFromSourceServedTableUnfit(t *testing.T) {
	ctx := context.Background()
	f := newFixtureYAML(t, strings.Replace(colorYAML, "%FIELDS%", "id: id, name: name, qty: qty", 1), "", "")
	srcPool, srcURL := testenv.Postgres(t)
	if _, err := srcPool.Exec(ctx, `CREATE TABLE public.items (id bigint PRIMARY KEY, name text, qty bigint, color text);
		INSERT INTO public.items SELECT g, 'item-' || g, g, 'red' FROM generate_series(1, 30) g`); err != nil {
		t.Fatal(err)
	}
	d := f.startDaemon()
	f.seed(d, 1, 30)
	d.stop()

	f.withFields("id: id, name: name, qty: qty, color: color")
	var logs r19bLogs
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second) // a hang fails instead of reaching the test's deadline
	defer cancel()
	if _, err := Run(ctx, f.openEnv(), Options{View: "item_view", From: "source", Keep: 0,
		SourceURLs: map[string]string{"items": srcURL}, Log: slog.New(&logs)}); err != nil {
		t.Fatalf("rebuild --from source with the served table lacking the new column: %v", err)
	}
	var red int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE color = 'red') FROM item_view`).Scan(&red); err != nil {
		t.Fatal(err)
	}
	if red != 30 {
		t.Errorf("readers see %d of 30 rows with their color", red)
	}
	if w := strings.Join(logs.warnings(), "\n"); !strings.Contains(w, "served generation is left as it is") {
		t.Errorf("no warning that the served generation was left as it is; warnings:\n%s", w)
	}
}

// TestResumeAnotherDefinition: a rebuild stopped after its fill is resumed
// with a file that adds a field. Its table lacks the column: the resume
// says the generation was started with another definition, instead of
// failing its verification on the column, resume after resume.
func TestResumeAnotherDefinition(t *testing.T) {
	ctx := context.Background()
	f := newFixtureYAML(t, strings.Replace(colorYAML, "%FIELDS%", "id: id, name: name, qty: qty", 1), "", "")
	d := f.startDaemon()
	f.seed(d, 1, 20)
	d.stop()
	boom := errors.New("stopped after the fill")
	if _, err := Run(ctx, f.openEnv(), Options{View: "item_view", Keep: 0,
		afterFill: func(context.Context, registry.Generation) error { return boom }}); !errors.Is(err, boom) {
		t.Fatalf("rebuild stopped after its fill: %v", err)
	}
	f.withFields("id: id, name: name, qty: qty, color: color")
	_, err := Resume(ctx, f.openEnv(), Options{View: "item_view"})
	if !errors.Is(err, ErrOtherDefinition) || !strings.Contains(err.Error(), "--abort") || !strings.Contains(err.Error(), `"color"`) {
		t.Fatalf("resume with a field added: %v, want ErrOtherDefinition naming the column and --abort", err)
	}
}
