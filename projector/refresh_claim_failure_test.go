package projector

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/internal/testenv"
)

// TestRefreshClaimFailureLoggedOncePerOutage: a view's refresh that cannot
// be claimed (its table unwritable, as in a PostgreSQL outage) is logged
// at warn when the claims start failing, not at every try, and at info
// when a claim works again; the refresh then runs.
func TestRefreshClaimFailureLoggedOncePerOutage(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	ctx := t.Context()
	var logs bytes.Buffer
	sink := &refreshSink{}
	eng, err := New(Options{Plan: r27ePlan(t, refreshSources+`1s
    fields: { id: id, title: title }
    sinks: { postgres: {} }
`), Pool: pool, Sinks: []Route{{Sink: sink, Views: []string{"live"}}}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := eng.ProcessChanges(ctx, "posts", []debezium.Change{{Kind: debezium.KindChange, Op: debezium.OpUpdate, Position: debezium.Position{Lo: 1},
		After: map[string]any{"id": json.Number("1"), "title": "p1", "expires_at": nil}}}); err != nil {
		t.Fatal(err)
	}
	sink.take()
	live := eng.plan.View("live")
	count := func(msg string) int { return strings.Count(logs.String(), msg) }
	const unclaimed, claimedAgain = `level=WARN msg="a view's refresh does not run until it can be claimed`, `level=INFO msg="a view's refresh can be claimed again"`

	if _, err := pool.Exec(ctx, `ALTER TABLE projector.refreshes RENAME TO refreshes_away`); err != nil {
		t.Fatal(err)
	}
	var failed error
	for range 3 {
		if failed = eng.tryRefresh(ctx, live, failed); !errors.Is(failed, errRefreshUnclaimed) {
			t.Fatalf("a refresh whose table is gone: tryRefresh returned %v, want %v", failed, errRefreshUnclaimed)
		}
	}
	if n := count(unclaimed); n != 1 {
		t.Errorf("three refreshes that could not be claimed in a row logged %d warnings, want 1:\n%s", n, logs.String())
	}
	if got := sink.take(); len(got) != 0 {
		t.Errorf("a refresh that could not be claimed wrote %v", got)
	}

	if _, err := pool.Exec(ctx, `ALTER TABLE projector.refreshes_away RENAME TO refreshes`); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if failed = eng.tryRefresh(ctx, live, failed); failed != nil {
			t.Fatalf("a refresh whose table is back: tryRefresh returned %v, want nil", failed)
		}
	}
	if n := count(claimedAgain); n != 1 {
		t.Errorf("claims working again logged %d infos saying so, want 1:\n%s", n, logs.String())
	}
	if got := sink.take(); !slices.Equal(got, []string{"1"}) {
		t.Errorf("the refresh claimed once its table was back wrote %v, want [1]", got)
	}
	if n := count(unclaimed); n != 1 {
		t.Errorf("claims that worked logged warnings: %d in all, want the 1 of the outage:\n%s", n, logs.String())
	}
}
