package rebuild

// A store losing data under a running deployment, and what `projector
// rebuild` repairs.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/sinks/elasticsearch/esfake"
)

// TestRedisFlushRepairedByRebuild: Redis restarted without
// persistence (every doc key and revision key of the view gone). Later
// changes still land (no revision key: nothing to compare with) and
// `projector rebuild VIEW --sinks redis` writes every document back.
func TestRedisFlushRepairedByRebuild(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	source := f.seed(d, 1, 60)
	ctx := context.Background()
	unlinkMatching(f.rdb, f.prefix+"*")
	unlinkMatching(f.rdb, "projector:rev:{"+f.prefix+"*")
	marker := stack.MarkerKey(f.pool.Config().ConnConfig.Database, f.cfg.Stores.Postgres.Schema, "item_view")
	if n, _ := f.rdb.Del(ctx, marker).Result(); n != 1 {
		t.Fatalf("the view's Redis marker was not there to lose")
	}
	if n, _ := f.rdb.Keys(ctx, f.prefix+"item:*").Result(); len(n) != 0 {
		t.Fatalf("keys left: %d", len(n))
	}
	upd := map[int64]*item{5: {Name: "item-5-v2", Qty: 55}}
	if err := d.apply(ctx, upd); err != nil {
		t.Fatal(err)
	}
	source[5] = upd[5]
	if got, err := f.rdb.Get(ctx, f.prefix+"item:5").Result(); err != nil {
		t.Fatalf("a change after the flush did not land in Redis: %v", err)
	} else {
		t.Logf("item:5 after the flush: %s", got)
	}
	env := f.openEnv()
	if _, err := Run(ctx, env, Options{View: "item_view", Stores: []string{"redis"}, Keep: 0, VerifyTimeout: time.Second}); err != nil {
		t.Fatalf("rebuild --sinks redis: %v", err)
	}
	f.wantDocs(source)
	if n, _ := f.rdb.Exists(ctx, marker).Result(); n != 1 {
		t.Errorf("the rebuild did not set the view's Redis marker again: its daemons keep saying Redis lost it")
	}
}

// TestRedisDocKeysDeletedByHandRepaired: doc keys deleted by hand
// (or evicted) while their revision keys stay. A rebuild assigns new
// revisions, so it writes them back.
func TestRedisDocKeysDeletedByHandRepaired(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	source := f.seed(d, 1, 30)
	ctx := context.Background()
	for id := 1; id <= 10; id++ {
		f.rdb.Del(ctx, fmt.Sprintf("%sitem:%d", f.prefix, id))
	}
	env := f.openEnv()
	if _, err := Run(ctx, env, Options{View: "item_view", Stores: []string{"redis"}, Keep: 0, VerifyTimeout: time.Second}); err != nil {
		t.Fatalf("rebuild --sinks redis: %v", err)
	}
	f.wantDocs(source)
}

// snapshotRevisions backs projector.revs (and the floors) up, and returns
// what restores them from that backup.
func (f *fixture) snapshotRevisions() func() {
	f.t.Helper()
	ctx := context.Background()
	if _, err := f.pool.Exec(ctx, `CREATE TABLE public.revs_backup AS SELECT * FROM projector.revs;
		CREATE TABLE public.floors_backup AS SELECT * FROM projector.rev_floors`); err != nil {
		f.t.Fatal(err)
	}
	return func() {
		f.t.Helper()
		if _, err := f.pool.Exec(ctx, `DELETE FROM projector.revs; INSERT INTO projector.revs SELECT * FROM public.revs_backup;
			DELETE FROM projector.rev_floors; INSERT INTO projector.rev_floors SELECT * FROM public.floors_backup`); err != nil {
			f.t.Fatal(err)
		}
	}
}

// TestRevisionsRestoredLiveWritesLand: the projector schema's revisions
// table restored from an older backup while PostgreSQL's view table and
// Redis keep the higher revisions they were written with. Counted on from
// the restored revision, every later change of such a document was below
// what the stores hold, and each store dropped it as stale, silently,
// until the document had changed as many times again. A revision is never
// below the clock (see projector's revisions.go): the next change lands.
func TestRevisionsRestoredLiveWritesLand(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	source := f.seed(d, 1, 5)
	restore := f.snapshotRevisions()
	ctx := context.Background()
	for v := range 3 { // revisions of item 1 go up to 4
		it := &item{Name: fmt.Sprintf("item-1-v%d", v), Qty: int64(v)}
		if err := d.apply(ctx, map[int64]*item{1: it}); err != nil {
			t.Fatal(err)
		}
	}
	restore() // item 1's revision back at 1
	last := &item{Name: "item-1-final", Qty: 99}
	if err := d.apply(ctx, map[int64]*item{1: last}); err != nil {
		t.Fatal(err)
	}
	source[1] = last
	f.wantDocs(source)
}

// TestRevisionsRestoredRebuildRepairsRedis: after the revisions went
// backwards, a rebuild's fill writes Redis (whose keys are the live ones)
// by revision too: counted on from the restored revisions its writes were
// stale, verification checks Redis for presence only, and the swap left
// Redis serving the old content. Above the clock, they land.
func TestRevisionsRestoredRebuildRepairsRedis(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	source := f.seed(d, 1, 5)
	restore := f.snapshotRevisions()
	ctx := context.Background()
	for v := range 4 {
		it := &item{Name: fmt.Sprintf("item-1-v%d", v), Qty: int64(v)}
		if err := d.apply(ctx, map[int64]*item{1: it}); err != nil {
			t.Fatal(err)
		}
	}
	restore()
	last := &item{Name: "item-1-final", Qty: 99}
	if err := d.apply(ctx, map[int64]*item{1: last}); err != nil {
		t.Fatal(err)
	}
	source[1] = last
	env := f.openEnv()
	if _, err := Run(ctx, env, Options{View: "item_view", Keep: 0, VerifyTimeout: time.Second}); err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	f.wantDocs(source)
}

// TestElasticsearchIndexDeletedRepairedByRebuild: the served index
// deleted under a running daemon (alias gone with it; later writes
// auto-create the index without the alias). `projector rebuild VIEW
// --sinks es` must leave the alias on a complete new generation.
func TestElasticsearchIndexDeletedRepairedByRebuild(t *testing.T) {
	es := esfake.New()
	es.Start()
	t.Cleanup(es.Close)
	f := newFixtureWith(t, "", es.URL())
	d := f.startDaemon()
	source := f.seed(d, 1, 30)
	ctx := context.Background()
	req, _ := http.NewRequest(http.MethodDelete, es.URL()+"/items-g1", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	upd := map[int64]*item{2: {Name: "item-2-v2", Qty: 2}}
	if err := d.apply(ctx, upd); err != nil {
		t.Fatal(err)
	}
	source[2] = upd[2]
	env := f.openEnv()
	if _, err := Run(ctx, env, Options{View: "item_view", Stores: []string{"elasticsearch"}, Keep: 0, VerifyTimeout: time.Second}); err != nil {
		t.Fatalf("rebuild --sinks es: %v", err)
	}
	esGet(t, es.URL()+"/items/_refresh")
	var count struct{ Count int }
	if err := json.Unmarshal([]byte(esGet(t, es.URL()+"/items/_count")), &count); err != nil || count.Count != 30 {
		t.Errorf("readers of the alias count %d documents (%v), want 30", count.Count, err)
	}
	if got := esGet(t, es.URL()+"/items/_doc/2"); !strings.Contains(got, "item-2-v2") {
		t.Errorf("doc 2: %s", got)
	}
	f.wantDocs(source)
}

// TestPostgresTableTruncatedRepaired: the served view table
// truncated by hand. Later changes land; a rebuild brings back the rest.
func TestPostgresTableTruncatedRepaired(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	source := f.seed(d, 1, 30)
	ctx := context.Background()
	if _, err := f.pool.Exec(ctx, `TRUNCATE item_view__g1`); err != nil {
		t.Fatal(err)
	}
	upd := map[int64]*item{3: {Name: "item-3-v2", Qty: 3}}
	if err := d.apply(ctx, upd); err != nil {
		t.Fatal(err)
	}
	source[3] = upd[3]
	env := f.openEnv()
	if _, err := Run(ctx, env, Options{View: "item_view", Stores: []string{"postgres"}, Keep: 0, VerifyTimeout: time.Second}); err != nil {
		t.Fatalf("rebuild --sinks postgres: %v", err)
	}
	f.wantDocs(source)
}

// TestPostgresTableDroppedRepaired: the served view table dropped
// (CASCADE takes the reader view). The daemon's writes fail as an outage
// (retried, not refused); `projector rebuild VIEW --sinks postgres` with
// the daemon running must give readers a complete table again, and the
// daemon's writes must then land.
func TestPostgresTableDroppedRepaired(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	source := f.seed(d, 1, 30)
	ctx := context.Background()
	if _, err := f.pool.Exec(ctx, `DROP TABLE item_view__g1 CASCADE`); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	err := d.apply(short, map[int64]*item{4: {Name: "item-4-v2", Qty: 4}})
	cancel()
	t.Logf("a batch with the table gone: %v", err)
	if err == nil {
		t.Errorf("a batch was acknowledged with the view table gone")
	}
	env := f.openEnv()
	rctx, rcancel := context.WithTimeout(ctx, 60*time.Second)
	defer rcancel()
	if _, err := Run(rctx, env, Options{View: "item_view", Stores: []string{"postgres"}, Keep: 0, VerifyTimeout: time.Second, WaitTimeout: 10 * time.Second}); err != nil {
		t.Fatalf("rebuild --sinks postgres after the table was dropped: %v", err)
	}
	upd := map[int64]*item{4: {Name: "item-4-v3", Qty: 44}}
	actx, acancel := context.WithTimeout(ctx, 10*time.Second)
	defer acancel()
	if err := d.apply(actx, upd); err != nil {
		t.Fatalf("a batch after the rebuild: %v", err)
	}
	source[4] = upd[4]
	f.wantDocs(source)
}

// TestReaderViewDroppedRestoredByRestart: the reader view dropped
// by hand; a daemon restart puts it back (README: a daemon starting
// points readers at the generation the registry serves).
func TestReaderViewDroppedRestoredByRestart(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	source := f.seed(d, 1, 10)
	ctx := context.Background()
	if _, err := f.pool.Exec(ctx, `DROP VIEW item_view`); err != nil {
		t.Fatal(err)
	}
	if err := d.apply(ctx, map[int64]*item{1: {Name: "item-1-v2", Qty: 1}}); err != nil {
		t.Fatalf("a batch with the reader view gone: %v", err)
	}
	source[1] = &item{Name: "item-1-v2", Qty: 1}
	d.stop()
	f.startDaemon()
	f.wantDocs(source)
}

// TestPostgresTableDroppedUnderLoad: the served view table dropped
// while changes flow. The batch in flight retries its write to the gone
// table. The operator's repair, `projector rebuild VIEW --sinks postgres`
// with the daemon running, must succeed and the stuck batch must then
// complete (its docs go to the new generation), not retry the dropped
// table for ever — which would pause consumption until a restart.
func TestPostgresTableDroppedUnderLoad(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	source := f.seed(d, 1, 30)
	ctx := context.Background()
	if _, err := f.pool.Exec(ctx, `DROP TABLE item_view__g1 CASCADE`); err != nil {
		t.Fatal(err)
	}
	bctx, bcancel := context.WithCancel(ctx)
	defer bcancel()
	stuck := make(chan error, 1)
	upd := map[int64]*item{4: {Name: "item-4-v2", Qty: 4}}
	go func() { stuck <- d.apply(bctx, upd) }()
	env := f.openEnv()
	rctx, rcancel := context.WithTimeout(ctx, 60*time.Second)
	defer rcancel()
	if _, err := Run(rctx, env, Options{View: "item_view", Stores: []string{"postgres"}, Keep: 0, VerifyTimeout: 2 * time.Second, WaitTimeout: 10 * time.Second}); err != nil {
		bcancel()
		<-stuck
		t.Fatalf("rebuild --sinks postgres while a batch retries the dropped table: %v", err)
	}
	select {
	case err := <-stuck:
		if err != nil {
			t.Fatalf("the stuck batch: %v", err)
		}
	case <-time.After(20 * time.Second):
		bcancel()
		err := <-stuck
		t.Fatalf("the batch in flight still retries the dropped table 20s after the rebuild swapped in a new one (%v): consumption is paused until a restart", err)
	}
	source[4] = upd[4]
	f.wantDocs(source)
}

// TestRedisRestoredFromOlderSnapshot: Redis restarted from an older
// RDB: a document deleted since is back with its old revision key, and
// another holds an old version. `projector rebuild VIEW --sinks redis`
// must delete the first and rewrite the second.
func TestRedisRestoredFromOlderSnapshot(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	source := f.seed(d, 1, 10)
	ctx := context.Background()
	keys := []string{f.prefix + "item:5", "projector:rev:{" + f.prefix + "item:5}", f.prefix + "item:6", "projector:rev:{" + f.prefix + "item:6}"}
	dumps := map[string]string{}
	for _, k := range keys {
		v, err := f.rdb.Dump(ctx, k).Result()
		if err != nil {
			t.Fatalf("DUMP %s: %v", k, err)
		}
		dumps[k] = v
	}
	changes := map[int64]*item{5: nil, 6: {Name: "item-6-v2", Qty: 66}}
	if err := d.apply(ctx, changes); err != nil {
		t.Fatal(err)
	}
	source[5], source[6] = nil, changes[6]
	for k, v := range dumps { // the old snapshot
		if err := f.rdb.RestoreReplace(ctx, k, 0, v).Err(); err != nil {
			t.Fatal(err)
		}
	}
	env := f.openEnv()
	if _, err := Run(ctx, env, Options{View: "item_view", Stores: []string{"redis"}, Keep: 0, VerifyTimeout: time.Second}); err != nil {
		t.Fatalf("rebuild --sinks redis: %v", err)
	}
	f.wantDocs(source)
}
