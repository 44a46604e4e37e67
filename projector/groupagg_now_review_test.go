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
// when it changes would never be taken away. So a view whose where reads
// the clock keeps no groups: nothing of it is in projector.group_aggs, and
// its groups are computed from their rows, as the memory engine does.
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
	future := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	put(1, future, "first")
	put(2, future, "far")
	put(1, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), "past") // leaves the group
	if diff := sinkDiff(t, pgSink, memSink); diff != "" {
		t.Errorf("a group of a where reading the clock differs from its rows:\n%s", diff)
	}
	var kept int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM projector.group_aggs WHERE view = 'upcoming'`).Scan(&kept); err != nil {
		t.Fatal(err)
	}
	if kept != 0 {
		t.Errorf("%d groups of a view whose where reads the clock kept, want none", kept)
	}
}
