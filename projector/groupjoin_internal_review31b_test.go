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

// r31bSink records the name of every document written.
type r31bSink struct {
	mu    sync.Mutex
	names []any
}

func (s *r31bSink) Name() string { return "r31b" }
func (s *r31bSink) Write(_ context.Context, docs []sinks.Doc) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range docs {
		s.names = append(s.names, d.Fields["name"])
	}
	return nil
}

// r31bStore counts the root rows (orders) the state transactions read
// through rowsByColumn, eachRow and firstRows.
type r31bStore struct {
	store
	mu   sync.Mutex
	read int
}

func (s *r31bStore) count(src *projections.Source, n int) {
	if src.Name == "orders" {
		s.mu.Lock()
		s.read += n
		s.mu.Unlock()
	}
}

func (s *r31bStore) update(ctx context.Context, fn func(stateTx) error) error {
	return s.store.update(ctx, func(tx stateTx) error { return fn(r31bTx{stateTx: tx, s: s}) })
}

func (s *r31bStore) snapshot(ctx context.Context, fn func(stateTx) error) error {
	return s.store.snapshot(ctx, func(tx stateTx) error { return fn(r31bTx{stateTx: tx, s: s}) })
}

type r31bTx struct {
	stateTx
	s *r31bStore
}

func (t r31bTx) rowsByColumn(ctx context.Context, src *projections.Source, by []columnIn, cols []string, limit int) ([]stateRow, error) {
	rows, err := t.stateTx.rowsByColumn(ctx, src, by, cols, limit)
	t.s.count(src, len(rows))
	return rows, err
}

func (t r31bTx) firstRows(ctx context.Context, src *projections.Source, by []string, tuples [][]string, cols []string) ([]stateRow, error) {
	rows, err := t.stateTx.firstRows(ctx, src, by, tuples, cols)
	t.s.count(src, len(rows))
	return rows, err
}

func (t r31bTx) eachRow(ctx context.Context, src *projections.Source, by []columnIn, cols []string, page int, fn func([]stateRow) error) error {
	return t.stateTx.eachRow(ctx, src, by, cols, page, func(rows []stateRow) error {
		t.s.count(src, len(rows))
		return fn(rows)
	})
}

// TestReview31bJoinedRowChangeReadsEveryRowOfItsUser: README ("A change
// of the joined row reaches the groups of its values (one root row of
// each is read to find them, so a group of a million rows costs no
// more)"). That holds only for a join on the one group_by column
// (firstRows). A view grouped by [user_id, status] and joined on user_id,
// or grouped by [user_id, email] and joined on both, pages through every
// root row of the user (groupsEmbedding's eachRow), under the state lock
// every instance waits on: a user with a million orders in two groups
// makes each change of the user read a million rows. Kept groups are
// trusted here (just computed), so nothing else reads the group's rows.
//
// Fixed: a join on every group_by column finds one row per group
// (firstRows by tuple), and a join on the first of them walks the group
// index a row per group (eachGroup, a skip scan).
func TestReview31bJoinedRowChangeReadsEveryRowOfItsUser(t *testing.T) {
	const orders = 3000
	for _, c := range []struct{ name, view string }{
		{"one group_by column (control)", `
  v:
    from: orders
    group_by: user_id
    fields:
      user_id: user_id
      n: { agg: count }
      name: { one: users, on: { id: user_id }, column: name }
    sinks: { postgres: {} }
`},
		{"join on one of two group_by columns", `
  v:
    from: orders
    group_by: [user_id, status]
    fields:
      user_id: user_id
      status: status
      n: { agg: count }
      name: { one: users, on: { id: user_id }, column: name }
    sinks: { postgres: {} }
`},
		{"join on both group_by columns", `
  v:
    from: orders
    group_by: [user_id, email]
    fields:
      user_id: user_id
      email: email
      n: { agg: count }
      name: { one: users, on: { id: user_id, email: email }, column: name }
    sinks: { postgres: {} }
`},
	} {
		t.Run(c.name, func(t *testing.T) {
			pool, _ := testenv.Postgres(t)
			plan := r27ePlan(t, `
sources:
  orders: { topic: t.public.orders, format: json, key: id, columns: { id: bigint, user_id: text, status: text, email: text } }
  users: { topic: t.public.users, format: json, key: id, columns: { id: text, email: text, name: text } }
views:`+c.view)
			sink := &r31bSink{}
			eng, change := changeEngine(t, Options{Plan: plan, Pool: pool, Sinks: []Route{{Sink: sink, Views: []string{"v"}}}})
			var rows []map[string]any
			for i := 1; i <= orders; i++ {
				// Two groups of u1 in either view: paid and open, one email.
				rows = append(rows, map[string]any{"id": json.Number(strconv.Itoa(i)), "user_id": "u1",
					"status": []string{"paid", "open"}[i%2], "email": "a@x"})
			}
			change("orders", rows...)
			change("users", map[string]any{"id": "u1", "email": "a@x", "name": "Ada"})
			rec := &r31bStore{store: eng.state}
			eng.state = rec
			change("users", map[string]any{"id": "u1", "email": "a@x", "name": "Ada L."})
			if rec.read > 10 {
				t.Errorf("one change of user u1 (in at most 2 groups of %d orders) read %d rows of orders: the groups' rows, not one of each", orders, rec.read)
			}
			sink.mu.Lock()
			defer sink.mu.Unlock()
			if len(sink.names) == 0 || sink.names[len(sink.names)-1] != "Ada L." {
				t.Errorf("the change of u1 did not reach its groups: names written %v", sink.names)
			}
		})
	}
}

// r31bPendingStore records the most documents one insertPending was given.
type r31bPendingStore struct {
	store
	mu   sync.Mutex
	most int
}

func (s *r31bPendingStore) update(ctx context.Context, fn func(stateTx) error) error {
	return s.store.update(ctx, func(tx stateTx) error { return fn(r31bPendingTx{stateTx: tx, s: s}) })
}

type r31bPendingTx struct {
	stateTx
	s *r31bPendingStore
}

func (t r31bPendingTx) insertPending(ctx context.Context, docs []pendingDoc) ([]pendingDoc, error) {
	t.s.mu.Lock()
	t.s.most = max(t.s.most, len(docs))
	t.s.mu.Unlock()
	return t.stateTx.insertPending(ctx, docs)
}

// TestReview31bJoinedRowFanOutToGroupsIsHeldWhole: DESIGN ("Fan-out is
// never dropped or truncated; it is applied with backpressure") and
// README ("When a change is embedded in more than four times that many
// root documents ... their ids are not even held ... So what a batch
// holds at once is bounded by the batch size, not by the fan-out"). A row
// view embedding the user spills past spillRows chunks (the control); a
// view grouped by [user_id, sku] embedding the user adds every group of
// the user to the batch's affected set and records them pending in one
// statement (groupsEmbedding: "added rather than spilled, however many
// rows a group has"), on the assumption that groups are few. With a
// second group_by column as distinct as a product, a customer's change
// holds as many documents as the customer has products.
func TestReview31bJoinedRowFanOutToGroupsIsHeldWhole(t *testing.T) {
	const chunk, skus = 4, 200
	for _, c := range []struct{ name, view string }{
		{"row view (control)", `
  v:
    from: orders
    fields:
      id: id
      name: { one: users, on: { id: user_id }, column: name }
    sinks: { postgres: {} }
`},
		{"group_by [user_id, sku]", `
  v:
    from: orders
    group_by: [user_id, sku]
    fields:
      user_id: user_id
      sku: sku
      n: { agg: count }
      name: { one: users, on: { id: user_id }, column: name }
    sinks: { postgres: {} }
`},
	} {
		t.Run(c.name, func(t *testing.T) {
			pool, _ := testenv.Postgres(t)
			plan := r27ePlan(t, `
sources:
  orders: { topic: t.public.orders, format: json, key: id, columns: { id: bigint, user_id: text, sku: text } }
  users: { topic: t.public.users, format: json, key: id, columns: { id: text, name: text } }
views:`+c.view)
			sink := &r31bSink{}
			eng, change := changeEngine(t, Options{Plan: plan, Pool: pool, ChunkDocs: chunk, Sinks: []Route{{Sink: sink, Views: []string{"v"}}}})
			var rows []map[string]any
			for i := 1; i <= skus; i++ {
				rows = append(rows, map[string]any{"id": json.Number(strconv.Itoa(i)), "user_id": "u1", "sku": "sku-" + strconv.Itoa(i)})
			}
			change("orders", rows...)
			rec := &r31bPendingStore{store: eng.state}
			eng.state = rec
			sink.mu.Lock()
			sink.names = nil
			sink.mu.Unlock()
			change("users", map[string]any{"id": "u1", "name": "Ada"})
			sink.mu.Lock()
			written := len(sink.names)
			sink.mu.Unlock()
			if written != skus {
				t.Fatalf("the change of u1 wrote %d documents, want %d", written, skus)
			}
			if rec.most > spillRows*chunk {
				t.Errorf("one change of a user in %d documents held and recorded %d of them at once; a batch holds at most spillRows×batch_size = %d",
					skus, rec.most, spillRows*chunk)
			}
		})
	}
}
