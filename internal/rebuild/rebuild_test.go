package rebuild

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/rebuild/registry"
)

// TestRebuildUnderLiveWrites rebuilds a view while a daemon keeps applying
// changes and readers keep reading PostgreSQL and Redis: every document that
// exists in the source throughout is there at every read, across the swap;
// afterwards both stores equal the source and the old generation is gone.
func TestRebuildUnderLiveWrites(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	const stable = 400
	source := f.seed(d, 1, stable) // never deleted: readers must always find them
	env := f.openEnv()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex // guards source
	writerErr := make(chan error, 1)
	stopWriting := make(chan struct{})
	wg.Add(1)
	go func() { // live changes: updates of stable items, churn items created and deleted
		defer wg.Done()
		rng := rand.New(rand.NewPCG(1, 2))
		next := int64(10_000)
		var churn []int64
		for {
			select {
			case <-stopWriting:
				return
			default:
			}
			batch := map[int64]*item{}
			for range 5 {
				id := 1 + rng.Int64N(stable)
				batch[id] = &item{Name: fmt.Sprintf("item-%d-v%d", id, rng.IntN(1000)), Qty: rng.Int64N(100)}
			}
			batch[next] = &item{Name: fmt.Sprintf("churn-%d", next), Qty: 1}
			churn = append(churn, next)
			next++
			if len(churn) > 20 {
				batch[churn[0]] = nil
				churn = churn[1:]
			}
			// Every batch completes, so that source says what was applied.
			if err := d.apply(context.Background(), batch); err != nil {
				writerErr <- err
				return
			}
			mu.Lock()
			for id, it := range batch {
				source[id] = it
			}
			mu.Unlock()
		}
	}()

	var reads atomic.Int64
	readerErr := make(chan error, 1)
	keys := make([]string, stable)
	for i := range keys {
		keys[i] = fmt.Sprintf("%sitem:%d", f.prefix, i+1)
	}
	wg.Add(1)
	go func() { // readers: every stable document, at every moment
		defer wg.Done()
		for ctx.Err() == nil {
			err := func() error {
				rows, err := f.readerRows(ctx)
				if err != nil {
					return fmt.Errorf("postgres reader: %w", err)
				}
				for id := int64(1); id <= stable; id++ {
					if _, ok := rows[id]; !ok {
						return fmt.Errorf("postgres reader: document %d missing (%d rows)", id, len(rows))
					}
				}
				vals, err := f.rdb.MGet(ctx, keys...).Result()
				if err != nil {
					return fmt.Errorf("redis reader: %w", err)
				}
				for i, v := range vals {
					if v == nil {
						return fmt.Errorf("redis reader: %s missing", keys[i])
					}
				}
				return nil
			}()
			if err != nil && ctx.Err() == nil {
				readerErr <- err
				return
			}
			reads.Add(1)
		}
	}()

	before := reads.Load()
	res, err := Run(ctx, env, Options{View: "item_view", Keep: 0, Chunk: 25, Workers: 2, VerifyTimeout: 20 * time.Second})
	if err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	during := reads.Load() - before
	// A few more reads after the swap.
	target := reads.Load() + 20
	waitFor(t, "reads after the swap", 30*time.Second, func() bool { return reads.Load() >= target || len(readerErr) > 0 })
	close(stopWriting)
	cancel()
	wg.Wait()
	select {
	case err := <-writerErr:
		t.Fatalf("live writer: %v", err)
	case err := <-readerErr:
		t.Fatalf("reader during the rebuild: %v", err)
	default:
	}
	if during == 0 {
		t.Errorf("no read happened during the rebuild")
	}
	t.Logf("rebuild: generation %d, filled %d, verified %d in %s (fill %s, verify %s); %d reads during it, %d live instance(s)",
		res.Generation, res.Filled, res.Verified, res.Total, res.Fill, res.Verify, during, res.Instances)
	if res.Generation != 2 || res.Instances != 1 || !res.Dropped {
		t.Errorf("result %+v: want generation 2, 1 instance, old generation dropped", res)
	}
	if got := f.readerTable(); got != "item_view__g2" {
		t.Errorf("readers select from %s, want item_view__g2", got)
	}
	if f.tableExists("item_view__g1") {
		t.Errorf("item_view__g1 still exists after a rebuild with keep 0")
	}
	// The daemon writes only the new generation now; one more change shows it.
	if err := d.apply(context.Background(), map[int64]*item{1: {Name: "after the swap", Qty: 7}}); err != nil {
		t.Fatal(err)
	}
	source[1] = &item{Name: "after the swap", Qty: 7}
	f.wantDocs(source)

	snap, err := env.Registry.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	gens := snap.Of("item_view")
	if len(gens) != 2 || gens[0].State != registry.Retired || gens[1].State != registry.Active || gens[1].Checksum == "" {
		t.Errorf("registry: %+v", gens)
	}
}

// TestRebuildSweepsDeletedDocuments: documents whose source rows are gone
// but whose Redis keys survived (a restored backup, a purged state row) are
// gone after the swap, and the new PostgreSQL generation never had them. No
// daemon runs: the command line works alone.
func TestRebuildSweepsDeletedDocuments(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	source := f.seed(d, 1, 50)
	ctx := context.Background()
	// 3 is deleted, then its key comes back (Redis restored from a backup).
	if err := d.apply(ctx, map[int64]*item{3: nil}); err != nil {
		t.Fatal(err)
	}
	source[3] = nil
	if err := f.rdb.Set(ctx, f.prefix+"item:3", `{"id":3,"name":"item-3","qty":3}`, 0).Err(); err != nil {
		t.Fatal(err)
	}
	// 4's state row is purged behind the engine's back: the stores keep it.
	if _, err := f.pool.Exec(ctx, `DELETE FROM projector.state_items WHERE key = '4'`); err != nil {
		t.Fatal(err)
	}
	source[4] = nil
	// 5 is hidden by the where filter in the state only (the projection
	// changed), and the stores still show it.
	if _, err := f.pool.Exec(ctx, `UPDATE projector.state_items SET data = data || '{"name":"hidden-5"}' WHERE key = '5'`); err != nil {
		t.Fatal(err)
	}
	source[5] = &item{Name: "hidden-5", Qty: 5}
	d.stop()

	env := f.openEnv()
	res, err := Run(ctx, env, Options{View: "item_view", Keep: time.Hour, Chunk: 10})
	if err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	if res.Instances != 0 || res.Swept < 2 {
		t.Errorf("result %+v: want no live instance and at least 2 documents swept", res)
	}
	f.wantDocs(source)
	// With keep 1h the old generation stays, retired, until its time is up.
	if !f.tableExists("item_view__g1") {
		t.Errorf("item_view__g1 dropped before its grace period")
	}
	if err := env.dropExpired(ctx, "item_view", time.Now().Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if f.tableExists("item_view__g1") {
		t.Errorf("item_view__g1 still exists after its grace period")
	}
}

// TestRebuildKilledThenResumed: a rebuild killed half-way leaves readers on
// the served generation, and --resume continues from the last chunk
// recorded and swaps.
func TestRebuildKilledThenResumed(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	const n = 2000
	source := f.seed(d, 1, n)
	env := f.openEnv()

	ctx, kill := context.WithCancel(context.Background())
	defer kill()
	_, err := Run(ctx, env, Options{View: "item_view", Chunk: 100, Workers: 1, Progress: &killAfter{docs: 700, kill: kill}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("killed rebuild: err = %v, want context.Canceled", err)
	}
	snap, err := env.Registry.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	g, ok := snap.Building("item_view")
	if !ok || g.State != registry.Building || g.Cursor == "" || g.DocsDone < 700 || g.DocsDone >= n {
		t.Fatalf("after the kill the registry holds %+v (building %v); want a building generation with a cursor", g, ok)
	}
	if got := f.readerTable(); got != "item_view__g1" {
		t.Errorf("readers select from %s after the kill, want item_view__g1", got)
	}
	// Live changes go on meanwhile, to both generations.
	if err := d.apply(context.Background(), map[int64]*item{1: {Name: "changed", Qty: 1}, 2: nil, 5000: {Name: "new", Qty: 2}}); err != nil {
		t.Fatal(err)
	}
	source[1], source[2], source[5000] = &item{Name: "changed", Qty: 1}, nil, &item{Name: "new", Qty: 2}
	f.wantDocs(source)

	// A new rebuild is refused while this one is unfinished.
	if _, err := Run(context.Background(), env, Options{View: "item_view"}); !errors.Is(err, ErrInProgress) {
		t.Errorf("second rebuild: err = %v, want ErrInProgress", err)
	}
	res, err := Resume(context.Background(), env, Options{View: "item_view", Chunk: 100, Keep: 0})
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	if res.Filled <= 0 || res.Filled > n+1-g.DocsDone {
		t.Errorf("resume filled %d documents; %d were left after %d", res.Filled, n+1-g.DocsDone, g.DocsDone)
	}
	if got := f.readerTable(); got != "item_view__g2" {
		t.Errorf("readers select from %s after the resume, want item_view__g2", got)
	}
	f.wantDocs(source)
}

// killAfter cancels the run once the fill did docs documents.
type killAfter struct {
	docs  int64
	done  atomic.Int64
	kill  func()
	phase atomic.Value
}

func (k *killAfter) Phase(name string, _ int64) { k.phase.Store(name) }
func (k *killAfter) Done()                      {}
func (k *killAfter) Add(n int64) {
	if k.phase.Load() == "fill" && k.done.Add(n) >= k.docs {
		k.kill()
	}
}

// TestRebuildMismatchRefusesSwap: a generation that differs from the state
// (a row changed, one lost, one extra) is not swapped in; the error names
// the documents, readers stay on the served generation, --abort drops it
// and a later --resume of a failed generation rebuilds it afresh.
func TestRebuildMismatchRefusesSwap(t *testing.T) {
	for _, mode := range []string{VerifySnapshot, VerifyFull} {
		t.Run(mode, func(t *testing.T) { testMismatch(t, mode) })
	}
}

func testMismatch(t *testing.T, mode string) {
	f := newFixture(t)
	d := f.startDaemon()
	source := f.seed(d, 1, 100)
	env := f.openEnv()
	ctx := context.Background()

	tamper := func(ctx context.Context, g registry.Generation) error {
		for _, q := range []string{
			`UPDATE item_view__g2 SET name = 'tampered', _rev = 1 WHERE id = 5`,
			`DELETE FROM item_view__g2 WHERE id = 6`,
			`INSERT INTO item_view__g2 (id, name, qty, _rev) VALUES (999, 'extra', 1, 1)`,
		} {
			if _, err := f.pool.Exec(ctx, q); err != nil {
				return err
			}
		}
		return nil
	}
	_, err := Run(ctx, env, Options{View: "item_view", Verify: mode, VerifyTimeout: 300 * time.Millisecond, afterFill: tamper})
	if !errors.Is(err, ErrMismatch) {
		t.Fatalf("rebuild of a tampered generation: err = %v, want ErrMismatch", err)
	}
	for _, want := range []string{"3 documents still differ", "content differs", "ids 5", "missing (ids 6)", "present, the state has no such document (ids 999)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if got := f.readerTable(); got != "item_view__g1" {
		t.Errorf("readers select from %s after a refused swap, want item_view__g1", got)
	}
	f.wantDocs(source)
	snap, err := env.Registry.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if g, ok := snap.Get("item_view", 2); !ok || g.State != registry.Failed || !strings.Contains(g.Error, "differ") {
		t.Errorf("registry holds %+v, want generation 2 failed with the reason", g)
	}

	// --resume of a failed generation builds it again from the start.
	res, err := Resume(ctx, env, Options{View: "item_view", Verify: mode})
	if err != nil {
		t.Fatalf("resume after the failure: %v", err)
	}
	if res.Generation != 2 || f.readerTable() != "item_view__g2" {
		t.Errorf("resume: %+v, readers on %s", res, f.readerTable())
	}
	f.wantDocs(source)
}

// TestAbortDropsTheBuildingGeneration: --abort stops the daemons writing
// the building generation and drops its table; the served one is untouched.
func TestAbortDropsTheBuildingGeneration(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	source := f.seed(d, 1, 30)
	env := f.openEnv()
	ctx := context.Background()
	stop := errors.New("stopped after the fill")
	_, err := Run(ctx, env, Options{View: "item_view", afterFill: func(context.Context, registry.Generation) error { return stop }})
	if !errors.Is(err, stop) {
		t.Fatalf("run: %v", err)
	}
	waitFor(t, "the daemon to route the building generation", 10*time.Second, func() bool {
		return len(d.st.Engine.Routes()) == 3 // redis, g1, g2
	})
	// The daemon shows the rebuild's progress, as the registry has it.
	waitFor(t, "the rebuild metrics", 10*time.Second, func() bool {
		m := metrics(t, d)
		return m[`projector_rebuild_in_progress{generation="2",state="building",view="item_view"}`] == 1 &&
			m[`projector_rebuild_docs_done{generation="2",view="item_view"}`] == 30 &&
			m[`projector_view_generation{store="postgres",view="item_view"}`] == 1
	})
	g, err := Abort(ctx, env, "item_view", 10*time.Second)
	if err != nil {
		t.Fatalf("abort: %v", err)
	}
	if g.Number != 2 || f.tableExists("item_view__g2") {
		t.Errorf("abort: generation %d, table item_view__g2 exists %v", g.Number, f.tableExists("item_view__g2"))
	}
	if n := len(d.st.Engine.Routes()); n != 2 {
		t.Errorf("the daemon still has %d routes after the abort, want 2", n)
	}
	if m := metrics(t, d); m[`projector_rebuild_in_progress{generation="2",state="building",view="item_view"}`] != 0 {
		t.Errorf("the daemon still shows the aborted rebuild: %v", m)
	}
	// The daemon keeps writing the served generation.
	if err := d.apply(ctx, map[int64]*item{7: {Name: "after the abort", Qty: 1}}); err != nil {
		t.Fatal(err)
	}
	source[7] = &item{Name: "after the abort", Qty: 1}
	f.wantDocs(source)
	if _, err := Abort(ctx, env, "item_view", time.Second); !errors.Is(err, ErrNothingToResume) {
		t.Errorf("second abort: err = %v, want ErrNothingToResume", err)
	}
}

// metrics gathers the daemon's metrics as name{labels} → value.
func metrics(t *testing.T, d *daemon) map[string]float64 {
	t.Helper()
	mfs, err := d.st.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			name := mf.GetName()
			if len(labels) > 0 {
				name += "{" + strings.Join(labels, ",") + "}"
			}
			out[name] = m.GetGauge().GetValue()
		}
	}
	return out
}

// TestRebuildSomeStores: a rebuild of Redis only leaves PostgreSQL readers
// on their generation; a later rebuild of every store replaces it.
func TestRebuildSomeStores(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	source := f.seed(d, 1, 40)
	env := f.openEnv()
	ctx := context.Background()
	if _, err := f.pool.Exec(ctx, `DELETE FROM projector.state_items WHERE key = '8'`); err != nil {
		t.Fatal(err)
	}
	source[8] = nil

	res, err := Run(ctx, env, Options{View: "item_view", Stores: []string{"redis"}, Keep: 0})
	if err != nil {
		t.Fatalf("rebuild of redis: %v", err)
	}
	if res.Generation != 2 || res.Swept != 1 || len(res.Replaced) != 0 {
		t.Errorf("rebuild of redis: %+v", res)
	}
	if got := f.readerTable(); got != "item_view__g1" {
		t.Errorf("postgres readers moved to %s by a rebuild of redis", got)
	}
	if keys, err := f.rdb.Exists(ctx, f.prefix+"item:8").Result(); err != nil || keys != 0 {
		t.Errorf("redis key of the purged document: %d %v", keys, err)
	}
	// Live changes still reach the served PostgreSQL generation.
	if err := d.apply(ctx, map[int64]*item{9: {Name: "changed", Qty: 9}}); err != nil {
		t.Fatal(err)
	}
	source[9] = &item{Name: "changed", Qty: 9}

	res, err = Run(ctx, env, Options{View: "item_view", Keep: 0})
	if err != nil {
		t.Fatalf("rebuild of every store: %v", err)
	}
	if res.Generation != 3 || res.Replaced["postgres"] != 1 || !res.Dropped {
		t.Errorf("rebuild of every store: %+v", res)
	}
	if got := f.readerTable(); got != "item_view__g3" || f.tableExists("item_view__g1") {
		t.Errorf("readers on %s; item_view__g1 exists %v", got, f.tableExists("item_view__g1"))
	}
	f.wantDocs(source)
}

// TestRebuildPurgesOldKeyTemplate: the view's Redis key changed in the
// configuration; the rebuild writes every document under the new key and
// purges the keys (with their revisions) of the template the daemon used.
func TestRebuildPurgesOldKeyTemplate(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	source := f.seed(d, 1, 30)
	d.stop()
	ctx := context.Background()
	old, err := f.rdb.Keys(ctx, f.prefix+"item:*").Result()
	if err != nil || len(old) != 30 {
		t.Fatalf("keys under the old template: %d (%v), want 30", len(old), err)
	}

	// The new configuration: the same view under "thing:{id}".
	f.setRedisKeys(map[string]string{"item_view": "thing:{id}"})
	env := f.openEnv()
	res, err := Run(ctx, env, Options{View: "item_view", Keep: 0})
	if err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	if res.Swept != 30 {
		t.Errorf("swept %d keys, want the 30 of the old template", res.Swept)
	}
	for pattern, want := range map[string]int{
		f.prefix + "item:*": 0, "projector:rev:{" + f.prefix + "item:*": 0,
		f.prefix + "thing:*": len(source), "projector:rev:{" + f.prefix + "thing:*": len(source),
	} {
		keys, err := f.rdb.Keys(ctx, pattern).Result()
		if err != nil || len(keys) != want {
			t.Errorf("%s: %d keys (%v), want %d", pattern, len(keys), err, want)
		}
	}
	templates, err := env.Registry.RedisTemplates(ctx, "item_view")
	if err != nil || len(templates) != 1 || templates[0] != f.prefix+"thing:{id}" {
		t.Errorf("templates left: %q (%v), want only the new one", templates, err)
	}
}

// TestVerifyAssignsNoRevision: checking a generation writes nothing: the
// revisions are as the fill left them after either verification.
func TestVerifyAssignsNoRevision(t *testing.T) {
	for _, mode := range []string{VerifySnapshot, VerifyFull} {
		t.Run(mode, func(t *testing.T) {
			f := newFixture(t)
			d := f.startDaemon()
			source := f.seed(d, 1, 50)
			env := f.openEnv()
			ctx := context.Background()
			revs := func() string {
				var s string
				if err := f.pool.QueryRow(ctx, `SELECT string_agg(doc_id || '@' || rev, ' ' ORDER BY doc_id) FROM projector.revs WHERE view = 'item_view'`).Scan(&s); err != nil {
					t.Fatal(err)
				}
				return s
			}
			var filled string
			fill := func(context.Context, registry.Generation) error { filled = revs(); return nil }
			if _, err := Run(ctx, env, Options{View: "item_view", Verify: mode, afterFill: fill}); err != nil {
				t.Fatal(err)
			}
			if got := revs(); got != filled {
				t.Errorf("revisions after the verification:\n%s\nafter the fill:\n%s", got, filled)
			}
			f.wantDocs(source)
		})
	}
}
