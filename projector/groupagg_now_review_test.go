package projector_test

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

const reviewNowYAML = `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://unused/x" } }
sources:
  rows: { topic: t.public.rows, format: json, key: id, columns: { id: bigint, g: text, at: timestamptz, note: text } }
views:
  upcoming:
    from: rows
    group_by: g
    where: at > now()
    fields:
      g: g
      n: { agg: count }
    sinks: { postgres: {} }
`

// TestReviewKeptGroupWhereReadingNow: expressions may call expr-lang's
// now() (validate accepts `where: at > now()`, "events still to come"). A
// kept group takes a changed row's old values away by evaluating the where
// on them again, now: a row that passed when it entered and no longer does
// when it changes is never taken away. The group keeps counting it, while
// recomputing it from its rows (the memory engine, or the PostgreSQL engine
// before kept groups) does not; the kept count only ever grows until the
// group is next recomputed.
//
// The test waits for the wall clock to pass a row's `at` (no
// synchronisation with any goroutine: the where reads the clock).
func TestReviewKeptGroupWhereReadingNow(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, reviewNowYAML, nil)
	pgEng, pgSink, memEng, memSink := twinEngines(t, pool, plan)
	ctx := context.Background()
	pos := int64(0)
	put := func(id int, at time.Time, note string) {
		t.Helper()
		pos++
		after := map[string]any{"id": json.Number(strconv.Itoa(id)), "g": "a", "at": at.UTC().Format(time.RFC3339Nano), "note": note}
		ch := []debezium.Change{{Kind: debezium.KindChange, Op: debezium.OpUpdate, Position: debezium.Position{Lo: pos}, After: after}}
		for _, eng := range []*projector.Engine{pgEng, memEng} {
			if err := eng.ProcessChanges(ctx, "rows", ch); err != nil {
				t.Fatal(err)
			}
		}
	}
	soon := time.Now().Add(300 * time.Millisecond)
	put(1, soon, "first")
	put(2, time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), "far")
	if diff := sinkDiff(t, pgSink, memSink); diff != "" {
		t.Fatalf("before the clock passed row 1: %s", diff)
	}
	<-time.After(time.Until(soon) + 10*time.Millisecond) // the wall clock passes row 1's at
	put(1, soon, "edited")                               // row 1 no longer passes: it leaves the group
	if diff := sinkDiff(t, pgSink, memSink); diff != "" {
		t.Errorf("after row 1's time passed and it changed, kept group differs from its rows:\n%s", diff)
	}
}
