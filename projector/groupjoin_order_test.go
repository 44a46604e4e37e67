package projector

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/sinks"
)

// eachGroup counts the rows the group scans read too (see r31bStore).
func (t r31bTx) eachGroup(ctx context.Context, src *projections.Source, group []string, tuples [][]string, cols []string, page int, fn func([]stateRow) error) error {
	return t.stateTx.eachGroup(ctx, src, group, tuples, cols, page, func(rows []stateRow) error {
		t.s.count(src, len(rows))
		return fn(rows)
	})
}

// namesSink keeps the last name written per document.
type namesSink struct {
	mu    sync.Mutex
	names map[string]any
}

func (s *namesSink) Name() string { return "names" }
func (s *namesSink) Write(_ context.Context, docs []sinks.Doc) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range docs {
		s.names[d.ID] = d.Fields["name"]
	}
	return nil
}

// TestGroupJoinOnLaterGroupColumnsReadsAGroupEach: a view grouped by
// [status, user_id, day] and joined on user_id (not its first group_by
// column), or on [day, user_id], finds the groups of a changed user
// through an index with the joined columns first: a row read per group,
// not every order of the user. Both in memory and on PostgreSQL, every
// group of the user gets the new name, and no other user's.
func TestGroupJoinOnLaterGroupColumnsReadsAGroupEach(t *testing.T) {
	const orders = 3000
	for _, c := range []struct{ name, on string }{
		{"on user_id", `{ id: user_id }`},
		{"on day and user_id", `{ id: user_id, day: day }`},
	} {
		for _, memory := range []bool{false, true} {
			t.Run(c.name+map[bool]string{true: " in memory", false: ""}[memory], func(t *testing.T) {
				plan := r27ePlan(t, `
sources:
  orders: { topic: t.public.orders, format: json, key: id, columns: { id: bigint, user_id: text, status: text, day: text } }
  users: { topic: t.public.users, format: json, key: id, columns: { id: text, day: text, name: text } }
views:
  v:
    from: orders
    group_by: [status, user_id, day]
    fields:
      status: status
      user_id: user_id
      day: day
      n: { agg: count }
      name: { one: users, on: `+c.on+`, column: name }
    sinks: { postgres: {} }
`)
				sink := &namesSink{names: map[string]any{}}
				opts := Options{Plan: plan, Memory: memory, Sinks: []Route{{Sink: sink, Views: []string{"v"}}}}
				if !memory {
					opts.Pool, _ = testenv.Postgres(t)
				}
				eng, change := changeEngine(t, opts)
				var rows []map[string]any
				for i := 1; i <= orders; i++ {
					// u1's orders in 2 statuses, on day d1: two groups.
					// u2's, every tenth, in one.
					user := "u1"
					if i%10 == 0 {
						user = "u2"
					}
					rows = append(rows, map[string]any{"id": json.Number(strconv.Itoa(i)), "user_id": user,
						"status": []string{"paid", "open"}[i%2], "day": "d1"})
				}
				change("orders", rows...)
				change("users", map[string]any{"id": "u1", "day": "d1", "name": "Ada"}, map[string]any{"id": "u2", "day": "d1", "name": "Bob"})
				rec := &r31bStore{store: eng.state}
				eng.state = rec
				change("users", map[string]any{"id": "u1", "day": "d1", "name": "Ada L."})
				if !memory && rec.read > 10 {
					t.Errorf("one change of user u1 (in 2 groups of %d orders) read %d rows of orders, want a row per group", orders, rec.read)
				}
				if !memory {
					order, _, _ := groupOrder(plan.View("v"), plan.View("v").Fields[4].Join)
					var n int
					if err := opts.Pool.QueryRow(t.Context(), `SELECT count(*) FROM pg_indexes WHERE schemaname = 'projector' AND indexname = $1`, groupIndexIn(plan.Source("orders"), order).name).Scan(&n); err != nil || n != 1 {
						t.Errorf("the index of the join's order %v: %d found (%v), want 1", order, n, err)
					}
				}
				sink.mu.Lock()
				defer sink.mu.Unlock()
				want := map[string]any{`["open","u1","d1"]`: "Ada L.", `["paid","u1","d1"]`: "Ada L.", `["paid","u2","d1"]`: "Bob"}
				for id, name := range want {
					if sink.names[id] != name {
						t.Errorf("group %s: name %v, want %v (all: %v)", id, sink.names[id], name, sink.names)
					}
				}
			})
		}
	}
}
