package projector

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/sinks"
)

const hotParentYAML = `
version: 1
kafka: { brokers: "localhost:9092", group: g }
stores: { postgres: { url: "postgres://unused" } }
sources:
  users: { topic: t.public.users, key: id, columns: { id: bigint, name: text, bio: text } }
  orders: { topic: t.public.orders, key: id, columns: { id: bigint, user_id: bigint, status: text } }
views:
  order_view:
    from: orders
    fields:
      id: id
      status: status
      customer: { one: users, on: { id: user_id }, fields: { name: name, bio: bio } }
    sinks: { postgres: { table: order_view } }
`

// writeCounter counts the docs written, by id, and keeps the newest.
type writeCounter struct {
	mu     sync.Mutex
	writes map[string]int
	last   map[string]sinks.Doc
}

func (w *writeCounter) Name() string { return "counter" }
func (w *writeCounter) Write(_ context.Context, docs []sinks.Doc) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, d := range docs {
		w.writes[d.ID]++
		if old, ok := w.last[d.ID]; !ok || old.Rev < d.Rev {
			w.last[d.ID] = d
		}
	}
	return nil
}

// fanOutReads is a store counting the rows the fan-out of a batch's
// transaction read from one source by its join columns.
type fanOutReads struct {
	store
	src  string
	mu   sync.Mutex
	rows int
}

func (s *fanOutReads) update(ctx context.Context, fn func(stateTx) error) error {
	return s.store.update(ctx, func(tx stateTx) error { return fn(fanOutTx{stateTx: tx, s: s}) })
}

type fanOutTx struct {
	stateTx
	s *fanOutReads
}

func (t fanOutTx) rowsByColumn(ctx context.Context, src *projections.Source, by []columnIn, cols []string, limit int) ([]stateRow, error) {
	rows, err := t.stateTx.rowsByColumn(ctx, src, by, cols, limit)
	if src.Name == t.s.src {
		t.s.mu.Lock()
		t.s.rows += len(rows)
		t.s.mu.Unlock()
	}
	return rows, err
}

// TestHotParentChangedInRoundsRecomputesFanOutOnce: changes of one key that
// fold cannot make moot (merges keeping a TOASTed column, MongoDB partial
// updates) are applied in as many rounds, but the docs they affect are
// collected once: a user embedded in 40 orders, changed 10 times in a
// batch, has its orders read once and each written once, whether the
// fan-out is held (chunks of 10,000) or spilled (chunks of 4), and the
// docs show the last change.
func TestHotParentChangedInRoundsRecomputesFanOutOnce(t *testing.T) {
	const orders, changes = 40, 10
	kinds := map[string]func(k int) debezium.Change{
		"merge": func(k int) debezium.Change {
			return debezium.Change{After: map[string]any{"id": int64(1), "name": fmt.Sprintf("ann-%d", k)}, Unchanged: []string{"bio"}}
		},
		"patch": func(k int) debezium.Change {
			return debezium.Change{Key: map[string]any{"id": int64(1)}, Patch: &debezium.Patch{Set: map[string]any{"name": fmt.Sprintf("ann-%d", k)}}}
		},
	}
	for kind, change := range kinds {
		for _, chunk := range []int{DefaultChunkDocs, 4} {
			for _, memory := range []bool{true, false} {
				t.Run(fmt.Sprintf("%s/chunk%d/memory=%v", kind, chunk, memory), func(t *testing.T) {
					opts := Options{Plan: hotParentPlan(t), Memory: memory, ChunkDocs: chunk}
					if !memory {
						opts.Pool, _ = testenv.Postgres(t)
					}
					sink := &writeCounter{writes: map[string]int{}, last: map[string]sinks.Doc{}}
					opts.Sinks = []Route{{Sink: sink, Views: []string{"order_view"}}}
					eng, apply := changeEngine(t, opts)
					apply("users", map[string]any{"id": int64(1), "name": "ann", "bio": "long bio"})
					var rows []map[string]any
					for i := 1; i <= orders; i++ {
						rows = append(rows, map[string]any{"id": int64(i), "user_id": int64(1), "status": "paid"})
					}
					apply("orders", rows...)
					sink.writes = map[string]int{}
					reads := &fanOutReads{store: eng.state, src: "orders"}
					eng.state = reads

					hotParentBatch(t, eng, changes, change)

					for i := 1; i <= orders; i++ {
						if n := sink.writes[fmt.Sprint(i)]; n != 1 {
							t.Errorf("order %d written %d times by %d changes of its user in one batch, want once", i, n, changes)
						}
					}
					if chunk == DefaultChunkDocs && reads.rows != orders {
						t.Errorf("the fan-out read %d order rows for %d changes of their user, want %d (once)", reads.rows, changes, orders)
					}
					want := map[string]any{"name": fmt.Sprintf("ann-%d", changes), "bio": "long bio"}
					if got := sink.last["7"].Fields["customer"]; fmt.Sprint(got) != fmt.Sprint(want) {
						t.Errorf("order 7 customer = %v, want %v", got, want)
					}
				})
			}
		}
	}
}

// hotParentBatch applies n changes of user 1 as one batch, each at the
// next position after the rows the engine holds.
func hotParentBatch(t *testing.T, eng *Engine, n int, change func(k int) debezium.Change) {
	t.Helper()
	var chs []debezium.Change
	for k := 1; k <= n; k++ {
		c := change(k)
		c.Kind, c.Op, c.Position = debezium.KindChange, debezium.OpUpdate, debezium.Position{Lo: int64(1000 + k)}
		chs = append(chs, c)
	}
	if err := eng.ProcessChanges(t.Context(), "users", chs); err != nil {
		t.Fatal(err)
	}
}

func hotParentPlan(t *testing.T) *projections.Plan {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(hotParentYAML), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return plan
}
