package projector

import (
	"context"
	"sync"

	"encoding/json"
	"strconv"
	"testing"

	"github.com/projectorhq/projector/sinks"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestReview32eNestedGroupFanOutIsHeldWhole: fanout.go (climb: "a change
// embedded in a million documents, directly or through a million middle
// rows, holds neither them nor their ids at once") and README ("Past four
// chunks of groups they are recorded pending a chunk at a time"). A
// company embedded by more users than spillRows chunks is paged through
// (climb's eachRow, paged=true), and a row view embedding the company
// through the user spills the documents of each page (the control). A
// group_by view embedding it through its user join (c1f38bd) ends each
// page in groupsEmbedding, which adds the page's groups to the batch's
// affected set (firstRows: always; eachGroup: what is left under
// (spillRows-1) chunks after each call) instead of spilling them: across
// the pages the batch holds, and records pending in one statement, every
// group of every user of the company.
func TestReview32eNestedGroupFanOutIsHeldWhole(t *testing.T) {
	const chunk, users = 4, 200
	for _, c := range []struct{ name, view string }{
		{"row view (control)", `
  v:
    from: orders
    fields:
      id: id
      user: { one: users, on: { id: user_id }, fields: { company: { one: companies, on: { id: company_id }, column: name } } }
    sinks: { postgres: {} }
`},
		{"group_by [user_id]", `
  v:
    from: orders
    group_by: user_id
    fields:
      user_id: user_id
      n: { agg: count }
      user: { one: users, on: { id: user_id }, fields: { company: { one: companies, on: { id: company_id }, column: name } } }
    sinks: { postgres: {} }
`},
		{"group_by [status, user_id]", `
  v:
    from: orders
    group_by: [status, user_id]
    fields:
      status: status
      user_id: user_id
      n: { agg: count }
      user: { one: users, on: { id: user_id }, fields: { company: { one: companies, on: { id: company_id }, column: name } } }
    sinks: { postgres: {} }
`},
	} {
		t.Run(c.name, func(t *testing.T) {
			pool, _ := testenv.Postgres(t)
			plan := r27ePlan(t, `
sources:
  orders: { topic: t.public.orders, format: json, key: id, columns: { id: bigint, user_id: text, status: text } }
  users: { topic: t.public.users, format: json, key: id, columns: { id: text, company_id: bigint } }
  companies: { topic: t.public.companies, format: json, key: id, columns: { id: bigint, name: text } }
views:`+c.view)
			sink := &r32eNameSink{embedded: map[any]int{}}
			eng, change := changeEngine(t, Options{Plan: plan, Pool: pool, ChunkDocs: chunk, Sinks: []Route{{Sink: sink, Views: []string{"v"}}}})
			var orders, us []map[string]any
			for i := 1; i <= users; i++ {
				u := "u" + strconv.Itoa(i)
				us = append(us, map[string]any{"id": u, "company_id": json.Number("1")})
				orders = append(orders, map[string]any{"id": json.Number(strconv.Itoa(i)), "user_id": u, "status": "paid"})
			}
			change("companies", map[string]any{"id": json.Number("1"), "name": "Acme"})
			change("users", us...)
			change("orders", orders...)
			rec := &r31bPendingStore{store: eng.state}
			eng.state = rec
			sink.reset()
			change("companies", map[string]any{"id": json.Number("1"), "name": "Initech"})
			if got := sink.count("Initech"); got != users {
				t.Fatalf("the change of the company wrote %d documents naming it, want %d", got, users)
			}
			if rec.most > spillRows*chunk {
				t.Errorf("one change of a company embedded by %d users held and recorded %d documents at once; a batch holds at most spillRows×batch_size = %d",
					users, rec.most, spillRows*chunk)
			}
		})
	}
}

// r32eNameSink counts the documents written, by the company they embed.
type r32eNameSink struct {
	mu       sync.Mutex
	embedded map[any]int
}

func (s *r32eNameSink) Name() string { return "r32e" }
func (s *r32eNameSink) Write(_ context.Context, docs []sinks.Doc) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range docs {
		if u, ok := d.Fields["user"].(map[string]any); ok {
			s.embedded[u["company"]]++
		}
	}
	return nil
}

func (s *r32eNameSink) reset() {
	s.mu.Lock()
	s.embedded = map[any]int{}
	s.mu.Unlock()
}

func (s *r32eNameSink) count(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.embedded[name]
}
