package rebuild

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/projector"
)

// fakeConnector is a Debezium connector as far as a rebuild --from signal
// sees it. It reads partition 0 of its signal topic <prefix>-signal and acts
// only on signals keyed by its topic.prefix, as KafkaSignalChannel does; an
// execute-snapshot signal for its collection has it emit the collection's
// rows in chunks as incremental snapshot reads ("op": "r",
// "source.snapshot": "incremental", the stream's position at that point) to
// the collection's topic, with the notifications Debezium's
// SinkNotificationChannel sends (JSON with schema, the signal's id) to
// <prefix>.notifications. Between chunks it streams the changes the test
// queued, to Kafka and to the daemon, as a live source does meanwhile.
type fakeConnector struct {
	t          *testing.T
	cl         *kgo.Client
	prefix     string // topic.prefix
	collection string
	src        fakeSource
	abort      bool          // answer with ABORTED instead of snapshotting (under mu)
	gate       chan struct{} // closed: the scan may go on past its start
	mu         sync.Mutex
	ids        []string // the ids of the signals acted on
	signal     chan string
}

// fakeSource is the table or collection behind a fakeConnector.
type fakeSource interface {
	// scan reads the rows as of now, in key order, as snapshot read
	// records in chunks.
	scan() [][]*kgo.Record
	// stream makes the next queued live change, applies it through the
	// daemon and returns its records (none when no change is left).
	stream(ctx context.Context) ([]*kgo.Record, error)
}

// newFakeConnector starts a connector; a gated one waits, after it started
// a snapshot, until gate is closed.
func newFakeConnector(t *testing.T, addrs []string, prefix, collection string, src fakeSource, gated bool) *fakeConnector {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{prefix + "-signal": {0: kgo.NewOffset().AtStart()}}))
	if err != nil {
		t.Fatal(err)
	}
	c := &fakeConnector{t: t, cl: cl, prefix: prefix, collection: collection, src: src,
		gate: make(chan struct{}), signal: make(chan string, 4)}
	if !gated {
		close(c.gate)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.serve(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done; cl.Close() })
	return c
}

func (c *fakeConnector) serve(ctx context.Context) {
	for ctx.Err() == nil {
		fetches := c.cl.PollFetches(ctx)
		fetches.EachRecord(func(rec *kgo.Record) {
			if string(rec.Key) != c.prefix {
				return // Debezium: "Signal key doesn't match the connector's name"
			}
			var sig struct {
				ID   string `json:"id"`
				Type string `json:"type"`
				Data struct {
					Collections []string `json:"data-collections"`
					Type        string   `json:"type"`
				} `json:"data"`
			}
			if err := json.Unmarshal(rec.Value, &sig); err != nil || sig.Type != "execute-snapshot" ||
				!strings.EqualFold(sig.Data.Type, "incremental") || !slices.Equal(sig.Data.Collections, []string{c.collection}) {
				c.t.Errorf("connector %s: unexpected signal %s", c.prefix, rec.Value)
				return
			}
			c.mu.Lock()
			c.ids = append(c.ids, sig.ID)
			c.mu.Unlock()
			c.signal <- sig.ID
			c.snapshot(ctx, sig.ID)
		})
	}
}

// snapshot scans the collection by key, chunk by chunk.
func (c *fakeConnector) snapshot(ctx context.Context, id string) {
	c.notify(ctx, id, "STARTED", map[string]string{"data_collections": c.collection})
	c.mu.Lock()
	abort := c.abort
	c.mu.Unlock()
	if abort {
		c.notify(ctx, id, "ABORTED", nil)
		return
	}
	select {
	case <-c.gate:
	case <-ctx.Done():
		return
	}
	scanned := 0
	for i, chunk := range scanChunks(c.src) {
		c.produce(ctx, chunk...)
		scanned += len(chunk)
		c.notify(ctx, id, "IN_PROGRESS", map[string]string{"current_collection_in_progress": c.collection,
			"last_processed_key": fmt.Sprint(i)})
		recs, err := c.src.stream(ctx)
		if err != nil {
			c.t.Errorf("connector %s: live change: %v", c.prefix, err)
		}
		c.produce(ctx, recs...)
	}
	c.notify(ctx, id, "TABLE_SCAN_COMPLETED", map[string]string{"scanned_collection": c.collection,
		"total_rows_scanned": fmt.Sprint(scanned), "status": "SUCCEEDED"})
	c.notify(ctx, id, "COMPLETED", nil)
}

func (c *fakeConnector) notify(ctx context.Context, id, typ string, data map[string]string) {
	if data == nil {
		data = map[string]string{}
	}
	data["connector_name"] = c.prefix
	value, _ := json.Marshal(map[string]any{
		"schema": map[string]any{"type": "struct", "name": "io.debezium.connector.common.Notification", "fields": []any{}},
		"payload": map[string]any{"id": id, "aggregate_type": "Incremental Snapshot", "type": typ,
			"additional_data": data, "timestamp": time.Now().UnixMilli()},
	})
	key, _ := json.Marshal(map[string]any{"id": id})
	c.produce(ctx, &kgo.Record{Topic: c.prefix + ".notifications", Partition: 0, Key: key, Value: value})
}

func (c *fakeConnector) produce(ctx context.Context, recs ...*kgo.Record) {
	if len(recs) == 0 {
		return
	}
	if err := c.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil && ctx.Err() == nil {
		c.t.Errorf("connector %s: produce: %v", c.prefix, err)
	}
}

// itemsTable is the PostgreSQL table public.items behind the fixture's
// items source.
type itemsTable struct {
	d     *daemon
	mu    sync.Mutex
	rows  map[int64]*item
	live  []map[int64]*item
	chunk int
}

func (it *itemsTable) scan() [][]*kgo.Record {
	it.mu.Lock()
	defer it.mu.Unlock()
	ids := slices.Sorted(maps.Keys(it.rows))
	var out [][]*kgo.Record
	for chunk := range slices.Chunk(ids, it.chunk) {
		lsn := it.d.position()
		var recs []*kgo.Record
		for _, id := range chunk {
			recs = append(recs, itemRecord(id, readEnvelope(id, it.rows[id], lsn)))
		}
		out = append(out, recs)
	}
	return out
}

func (it *itemsTable) stream(ctx context.Context) ([]*kgo.Record, error) {
	it.mu.Lock()
	if len(it.live) == 0 {
		it.mu.Unlock()
		return nil, nil
	}
	changes := it.live[0]
	it.live = it.live[1:]
	for id, row := range changes {
		if row == nil {
			delete(it.rows, id)
		} else {
			it.rows[id] = row
		}
	}
	it.mu.Unlock()
	recs := it.d.records(changes)
	if err := it.d.process(ctx, recs); err != nil {
		return nil, err
	}
	var out []*kgo.Record
	for _, r := range recs {
		var k struct{ ID int64 }
		_ = json.Unmarshal(r.Key, &k)
		out = append(out, &kgo.Record{Topic: r.Topic, Partition: int32(k.ID % 3), Key: r.Key, Value: r.Value})
	}
	return out, nil
}

func itemRecord(id int64, value []byte) *kgo.Record {
	return &kgo.Record{Topic: "shop.public.items", Partition: int32(id % 3), Key: fmt.Appendf(nil, `{"id":%d}`, id), Value: value}
}

func (c *fakeConnector) signals() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.ids)
}

// position is the source position of the stream now.
func (d *daemon) position() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.lsn
}

// readEnvelope is an incremental snapshot read of a row.
func readEnvelope(id int64, it *item, lsn int64) []byte {
	ev := map[string]any{
		"source": map[string]any{"version": "2.7.3.Final", "connector": "postgresql", "name": "shop",
			"ts_ms": time.Now().UnixMilli(), "snapshot": "incremental", "db": "shop", "schema": "public", "table": "items", "lsn": lsn},
		"op": "r", "before": nil, "after": map[string]any{"id": id, "name": it.Name, "qty": it.Qty},
		"transaction": nil, "ts_ms": time.Now().UnixMilli(),
	}
	b, _ := json.Marshal(ev)
	return b
}

func signalCluster(t *testing.T) *kfake.Cluster {
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "shop.public.items"),
		kfake.SeedTopics(1, "shop-signal", "shop.notifications"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	return kc
}

// TestRebuildFromSignal: the state lost rows, kept a stale one and one the
// source deleted unseen. A rebuild --from signal has the connector re-read
// the table while the source goes on changing; afterwards the view is the
// source's again, the unseen deletion included.
func TestRebuildFromSignal(t *testing.T) {
	kc := signalCluster(t)
	f := newFixtureWith(t, strings.Join(kc.ListenAddrs(), ","), "")
	d := f.startDaemon()
	ctx := context.Background()
	source := f.seed(d, 1, 200)

	// Divergence: 10 and 11 lost, 5 stale, 3 and 4 gone from the source
	// without a delete event reaching the projector.
	for _, q := range []string{
		`DELETE FROM projector.state_items WHERE key IN ('10', '11')`,
		`UPDATE projector.state_items SET data = '{"id": 5, "name": "old", "qty": 5}', pos_hi = 1 WHERE key = '5'`,
	} {
		if _, err := f.pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	delete(source, 3)
	delete(source, 4)
	table := &itemsTable{d: d, rows: maps.Clone(source), chunk: 40, live: []map[int64]*item{
		{7: {Name: "renamed", Qty: 70}, 500: {Name: "new", Qty: 500}},
		{8: nil, 9: {Name: "hidden now", Qty: 9}},
		{1: {Name: "first again", Qty: 1}},
	}}
	conn := newFakeConnector(t, kc.ListenAddrs(), "shop", "public.items", table, false)
	for _, changes := range table.live {
		for id, it := range changes {
			source[id] = it
		}
	}
	for id, it := range source {
		if it == nil {
			delete(source, id)
		}
	}

	env := f.openEnv()
	res, err := Run(ctx, env, Options{View: "item_view", From: registry.SourceSignal, Keep: 0, ReplayIdle: 2 * time.Second})
	t.Logf("rebuild --from signal: %+v", res)
	if err != nil {
		t.Fatalf("rebuild --from signal: %v", err)
	}
	if got := conn.signals(); len(got) != 1 || !strings.HasPrefix(got[0], "projector-item_view-g2-") {
		t.Errorf("signals the connector acted on: %q, want one of generation 2", got)
	}
	if res.SourceDeleted != 2 {
		t.Errorf("deleted %d state rows, want 2 (3 and 4)", res.SourceDeleted)
	}
	if res.Replayed < 198 {
		t.Errorf("replayed %d records, want the 198 rows read and the live changes", res.Replayed)
	}
	f.wantDocs(source)
}

// TestRebuildFromSignalResume: killed while Debezium snapshots, the
// rebuild resumes waiting for the same snapshot (no second signal); an
// aborted snapshot fails the rebuild and leaves the served generation.
func TestRebuildFromSignalResume(t *testing.T) {
	kc := signalCluster(t)
	f := newFixtureWith(t, strings.Join(kc.ListenAddrs(), ","), "")
	d := f.startDaemon()
	source := f.seed(d, 1, 100)
	conn := newFakeConnector(t, kc.ListenAddrs(), "shop", "public.items", &itemsTable{d: d, rows: maps.Clone(source), chunk: 40}, true)
	env := f.openEnv()

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := Run(ctx, env, Options{View: "item_view", From: registry.SourceSignal, Keep: 0, ReplayIdle: 2 * time.Second})
		errc <- err
	}()
	id := <-conn.signal
	waitFor(t, "the signal recorded in the registry", 10*time.Second, func() bool {
		snap, err := env.Registry.Snapshot(context.Background())
		g, ok := snap.Building("item_view")
		return err == nil && ok && strings.Contains(string(g.Signal), id)
	})
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted rebuild: %v, want context.Canceled", err)
	}
	close(conn.gate) // the connector goes on snapshotting meanwhile

	res, err := Resume(context.Background(), env, Options{View: "item_view", Keep: 0, ReplayIdle: 2 * time.Second})
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	if got := conn.signals(); len(got) != 1 {
		t.Errorf("signals sent: %q, want the first one only", got)
	}
	if res.Generation != 2 || res.Replayed < 100 {
		t.Errorf("resumed generation %d replayed %d records, want generation 2 and the 100 rows", res.Generation, res.Replayed)
	}
	f.wantDocs(source)

	// Debezium aborts the next one: the rebuild fails, readers keep
	// generation 2.
	conn.mu.Lock()
	conn.abort = true
	conn.mu.Unlock()
	_, err = Run(context.Background(), env, Options{View: "item_view", From: registry.SourceSignal, Keep: 0})
	if !errors.Is(err, ErrSnapshotFailed) || !strings.Contains(err.Error(), "aborted") {
		t.Fatalf("aborted snapshot: %v, want ErrSnapshotFailed", err)
	}
	if got := f.readerTable(); got != "item_view__g2" {
		t.Errorf("readers see %s, want item_view__g2", got)
	}
	if _, err := Abort(context.Background(), env, "item_view", time.Minute); err != nil {
		t.Fatalf("abort: %v", err)
	}
	f.wantDocs(source)
}

// TestRebuildFromSignalNeedsNotifications: without the connector's
// notification topic the rebuild could not know when the snapshot is
// complete; it says so before it creates anything.
func TestRebuildFromSignalNeedsNotifications(t *testing.T) {
	f := newFixture(t)
	src := &f.cfg.Sources[0].Value
	src.Signal.Notifications = ""
	env := f.openEnv()
	_, err := Run(context.Background(), env, Options{View: "item_view", From: registry.SourceSignal})
	if err == nil || !strings.Contains(err.Error(), "source items has no signal.notifications") {
		t.Fatalf("rebuild --from signal without notifications: %v", err)
	}
	snap, err := env.Registry.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := snap.Building("item_view"); ok {
		t.Error("a generation was registered")
	}
}

// usersYAML is a view of a MongoDB collection, streamed by Debezium's
// MongoDB connector (JSON without schemas, the document as Extended JSON).
const usersYAML = `
version: 1
kafka: { brokers: "${BROKERS}", group: users }
stores:
  postgres: { url: "${PG}" }
  redis: { url: "${REDIS}" }
sources:
  users:
    topic: shopmongo.shop.users
    key: _id
    columns: { _id: text, name: text, email: text }
    signal: { notifications: shopmongo.notifications }
views:
  user_view:
    from: users
    fields: { id: _id, name: name, email: email }
    sinks:
      postgres: { table: user_view }
      redis: { key: "${PREFIX}user:{id}" }
`

// user is a users document; a nil *user deletes.
type user struct{ Name, Email string }

// usersCollection is the MongoDB collection shop.users.
type usersCollection struct {
	d        *daemon
	mu       sync.Mutex
	rows     map[string]*user
	live     []map[string]*user
	sec, ord int64 // the oplog position of the last change
}

func (uc *usersCollection) scan() [][]*kgo.Record {
	uc.mu.Lock()
	defer uc.mu.Unlock()
	var out [][]*kgo.Record
	for chunk := range slices.Chunk(slices.Sorted(maps.Keys(uc.rows)), 7) {
		var recs []*kgo.Record
		for _, id := range chunk {
			recs = append(recs, mongoRecord("r", id, uc.rows[id], uc.sec, uc.ord, "incremental"))
		}
		out = append(out, recs)
	}
	return out
}

// change makes changes at the next oplog positions and their records.
func (uc *usersCollection) change(changes map[string]*user) []*kgo.Record {
	uc.mu.Lock()
	defer uc.mu.Unlock()
	var out []*kgo.Record
	for _, id := range slices.Sorted(maps.Keys(changes)) {
		uc.ord++
		u := changes[id]
		op := "u"
		switch {
		case u == nil:
			op = "d"
			delete(uc.rows, id)
		case uc.rows[id] == nil:
			op = "c"
		}
		if u != nil {
			uc.rows[id] = u
		}
		out = append(out, mongoRecord(op, id, u, uc.sec, uc.ord, "false"))
		if u == nil {
			out = append(out, &kgo.Record{Topic: "shopmongo.shop.users", Key: mongoKey(id)}) // the tombstone
		}
	}
	return out
}

func (uc *usersCollection) stream(ctx context.Context) ([]*kgo.Record, error) {
	uc.mu.Lock()
	if len(uc.live) == 0 {
		uc.mu.Unlock()
		return nil, nil
	}
	changes := uc.live[0]
	uc.live = uc.live[1:]
	uc.mu.Unlock()
	recs := uc.change(changes)
	return recs, uc.d.process(ctx, engineRecords(recs))
}

func engineRecords(recs []*kgo.Record) []projector.Record {
	out := make([]projector.Record, len(recs))
	for i, r := range recs {
		out[i] = projector.Record{Topic: r.Topic, Offset: int64(i), Key: r.Key, Value: r.Value}
	}
	return out
}

func mongoKey(id string) []byte {
	k, _ := json.Marshal(map[string]any{"id": fmt.Sprintf(`{"$oid": "%s"}`, id)})
	return k
}

// mongoRecord is a change event of Debezium's MongoDB connector.
func mongoRecord(op, id string, u *user, sec, ord int64, snapshot string) *kgo.Record {
	var after any
	if u != nil {
		b, _ := json.Marshal(map[string]any{"_id": map[string]any{"$oid": id}, "name": u.Name, "email": u.Email})
		after = string(b)
	}
	v, _ := json.Marshal(map[string]any{
		"before": nil, "after": after, "updateDescription": nil,
		"source": map[string]any{"version": "2.7.0.Final", "connector": "mongodb", "name": "shopmongo",
			"ts_ms": sec * 1000, "snapshot": snapshot, "db": "shop", "collection": "users", "ord": ord},
		"op": op, "ts_ms": sec*1000 + 5,
	})
	return &kgo.Record{Topic: "shopmongo.shop.users", Key: mongoKey(id), Value: v}
}

// TestRebuildFromSignalMongo: the way to re-read a MongoDB collection. The
// state lost a user, kept a stale one and one the collection no longer
// has; after the connector's incremental snapshot, with changes streamed
// meanwhile, the view is the collection's again.
func TestRebuildFromSignalMongo(t *testing.T) {
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "shopmongo.shop.users"),
		kfake.SeedTopics(1, "shopmongo-signal", "shopmongo.notifications"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	f := newFixtureYAML(t, usersYAML, strings.Join(kc.ListenAddrs(), ","), "")
	d := f.startDaemon()
	ctx := context.Background()
	uc := &usersCollection{d: d, rows: map[string]*user{}, sec: 1_790_000_000}
	seed := map[string]*user{}
	for i := range 40 {
		seed[fmt.Sprintf("6ae6ff90%016x", i)] = &user{Name: fmt.Sprintf("user %d", i), Email: fmt.Sprintf("u%d@example.com", i)}
	}
	if err := d.process(ctx, engineRecords(uc.change(seed))); err != nil {
		t.Fatal(err)
	}
	lost, stale, gone := "6ae6ff900000000000000001", "6ae6ff900000000000000002", "6ae6ff900000000000000003"
	for _, q := range []string{
		`DELETE FROM projector.state_users WHERE key = '` + lost + `'`,
		`UPDATE projector.state_users SET data = data || '{"name": "old"}', pos_hi = 1 WHERE key = '` + stale + `'`,
	} {
		if _, err := f.pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	uc.mu.Lock()
	delete(uc.rows, gone) // gone from the collection; no event reached the projector
	uc.live = []map[string]*user{
		{"6ae6ff900000000000000005": {Name: "renamed", Email: "r@example.com"}},
		{"6ae6ff900000000000000006": nil, "6ae6ff90ffffffffffffffff": {Name: "new", Email: "n@example.com"}},
	}
	uc.sec++
	uc.mu.Unlock()
	conn := newFakeConnector(t, kc.ListenAddrs(), "shopmongo", "shop.users", uc, false)

	env := f.openEnv()
	res, err := Run(ctx, env, Options{View: "user_view", From: registry.SourceSignal, Keep: 0, ReplayIdle: 2 * time.Second})
	t.Logf("rebuild --from signal: %+v", res)
	if err != nil {
		t.Fatalf("rebuild --from signal: %v", err)
	}
	if got := conn.signals(); len(got) != 1 {
		t.Errorf("signals: %q, want one", got)
	}
	if res.SourceDeleted != 1 {
		t.Errorf("deleted %d state rows, want 1 (%s)", res.SourceDeleted, gone)
	}
	uc.mu.Lock()
	want := map[string]user{}
	for id, u := range uc.rows {
		want[id] = *u
	}
	uc.mu.Unlock()
	rows, err := f.pool.Query(ctx, `SELECT id, name, email FROM user_view`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]user{}
	for rows.Next() {
		var id string
		var u user
		if err := rows.Scan(&id, &u.Name, &u.Email); err != nil {
			t.Fatal(err)
		}
		got[id] = u
	}
	if !maps.Equal(got, want) {
		t.Errorf("user_view holds %d users, want %d:\n got %v\nwant %v", len(got), len(want), got, want)
	}
	keys, err := f.rdb.Keys(ctx, f.prefix+"user:*").Result()
	if err != nil || len(keys) != len(want) {
		t.Errorf("redis holds %d user keys (%v), want %d", len(keys), err, len(want))
	}
	for id, u := range want {
		raw, err := f.rdb.Get(ctx, f.prefix+"user:"+id).Result()
		if err != nil || !strings.Contains(raw, `"name":"`+u.Name+`"`) {
			t.Errorf("redis user:%s = %s (%v), want name %q", id, raw, err, u.Name)
		}
	}
}
