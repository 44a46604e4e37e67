package rebuild

import (
	"context"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/testenv"
)

// fiveViewsYAML has five views over the same source: a rebuild --from
// source of one holds the locks of the four others.
var fiveViewsYAML = itemsYAML + `
  item_view2:
    from: items
    fields: { id: id, name: name }
    sinks:
      postgres: { table: item_view2 }
  item_view3:
    from: items
    fields: { id: id, qty: qty }
    sinks:
      postgres: { table: item_view3 }
  item_view4:
    from: items
    fields: { id: id, name: name, qty: qty }
    sinks:
      postgres: { table: item_view4 }
  item_view5:
    from: items
    fields: { id: id }
    sinks:
      postgres: { table: item_view5 }
`

// TestReReadWithManySharingViewsDoesNotStarveThePool: with a source read
// by five views, a rebuild --from source of one of them holds five locks,
// more than pgxpool's default size (max(4, NumCPU)); their sessions are
// out of the pool, so the rebuild runs instead of waiting forever for a
// connection it holds itself.
func TestReReadWithManySharingViewsDoesNotStarveThePool(t *testing.T) {
	f := newFixtureYAML(t, fiveViewsYAML, "", "")
	d := f.startDaemon()
	srcPool, srcURL := testenv.Postgres(t)
	ctx := context.Background()
	if _, err := srcPool.Exec(ctx, `CREATE TABLE public.items (id bigint PRIMARY KEY, name text, qty bigint);
		INSERT INTO public.items SELECT g, 'item-' || g, g FROM generate_series(1, 5) g;`); err != nil {
		t.Fatal(err)
	}
	f.seed(d, 1, 5)
	env := f.openEnv()
	t.Logf("rebuild env pool max conns: %d", env.Pool.Stat().MaxConns())
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := Run(rctx, env, Options{View: "item_view", From: "source", Keep: time.Hour, Chunk: 50,
		SourceURLs: map[string]string{"items": srcURL}}); err != nil {
		t.Fatalf("rebuild --from source of item_view, whose source four other views read: %v (pool: %d of %d connections acquired)",
			err, env.Pool.Stat().AcquiredConns(), env.Pool.Stat().MaxConns())
	}
}
