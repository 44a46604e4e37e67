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
)

// fakeConnector is a Debezium PostgreSQL connector with topic.prefix
// "shop", as far as a rebuild --from signal sees it. It reads partition 0
// of its signal topic shop-signal and acts only on signals keyed by its
// topic.prefix, as KafkaSignalChannel does; an execute-snapshot signal for
// public.items has it emit the table's rows in chunks as snapshot reads
// ("op": "r", "source.snapshot": "incremental", the lsn of the stream at
// that point) to shop.public.items, with the notifications Debezium's
// SinkNotificationChannel sends (JSON with schema, the signal's id) to
// shop.notifications. Between chunks it streams the changes the test
// queued, to Kafka and to the daemon, as a live source does meanwhile.
type fakeConnector struct {
	t      *testing.T
	cl     *kgo.Client
	d      *daemon
	abort  bool          // answer with ABORTED instead of snapshotting (under mu)
	gate   chan struct{} // closed: the scan may go on past its start
	chunk  int
	mu     sync.Mutex
	rows   map[int64]*item // the source table
	live   []map[int64]*item
	ids    []string // the ids of the signals acted on
	signal chan string
}

func newFakeConnector(t *testing.T, addrs []string, d *daemon, rows map[int64]*item) *fakeConnector {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"shop-signal": {0: kgo.NewOffset().AtStart()}}))
	if err != nil {
		t.Fatal(err)
	}
	c := &fakeConnector{t: t, cl: cl, d: d, gate: make(chan struct{}), chunk: 40, rows: rows, signal: make(chan string, 4)}
	close(c.gate)
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
			if string(rec.Key) != "shop" {
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
				!strings.EqualFold(sig.Data.Type, "incremental") || !slices.Equal(sig.Data.Collections, []string{"public.items"}) {
				c.t.Errorf("connector: unexpected signal %s", rec.Value)
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

// snapshot scans the table by key, chunk by chunk.
func (c *fakeConnector) snapshot(ctx context.Context, id string) {
	c.notify(ctx, id, "STARTED", map[string]string{"data_collections": "public.items"})
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
	c.mu.Lock()
	ids := slices.Sorted(maps.Keys(c.rows))
	c.mu.Unlock()
	scanned := 0
	for chunk := range slices.Chunk(ids, c.chunk) {
		var recs []*kgo.Record
		c.mu.Lock()
		lsn := c.d.position()
		for _, id := range chunk {
			if it := c.rows[id]; it != nil {
				recs = append(recs, c.record(id, readEnvelope(id, it, lsn)))
				scanned++
			}
		}
		c.mu.Unlock()
		c.produce(ctx, recs...)
		c.notify(ctx, id, "IN_PROGRESS", map[string]string{"current_collection_in_progress": "public.items",
			"maximum_key": fmt.Sprint(ids[len(ids)-1]), "last_processed_key": fmt.Sprint(chunk[len(chunk)-1])})
		c.stream(ctx)
	}
	c.notify(ctx, id, "TABLE_SCAN_COMPLETED", map[string]string{"scanned_collection": "public.items",
		"total_rows_scanned": fmt.Sprint(scanned), "status": "SUCCEEDED"})
	c.notify(ctx, id, "COMPLETED", nil)
}

// stream sends the next queued live change: to the daemon's engine, as
// the running projector applies it, and to Kafka.
func (c *fakeConnector) stream(ctx context.Context) {
	c.mu.Lock()
	if len(c.live) == 0 {
		c.mu.Unlock()
		return
	}
	changes := c.live[0]
	c.live = c.live[1:]
	for id, it := range changes {
		c.rows[id] = it
	}
	c.mu.Unlock()
	recs := c.d.records(changes)
	if err := c.d.process(ctx, recs); err != nil {
		c.t.Errorf("connector: live change: %v", err)
	}
	var out []*kgo.Record
	for _, r := range recs {
		out = append(out, &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value})
	}
	c.produce(ctx, out...)
}

func (c *fakeConnector) record(id int64, value []byte) *kgo.Record {
	return &kgo.Record{Topic: "shop.public.items", Partition: int32(id % 3), Key: fmt.Appendf(nil, `{"id":%d}`, id), Value: value}
}

func (c *fakeConnector) notify(ctx context.Context, id, typ string, data map[string]string) {
	if data == nil {
		data = map[string]string{}
	}
	data["connector_name"] = "shop"
	value, _ := json.Marshal(map[string]any{
		"schema": map[string]any{"type": "struct", "name": "io.debezium.connector.common.Notification", "fields": []any{}},
		"payload": map[string]any{"id": id, "aggregate_type": "Incremental Snapshot", "type": typ,
			"additional_data": data, "timestamp": time.Now().UnixMilli()},
	})
	key, _ := json.Marshal(map[string]any{"id": id})
	c.produce(ctx, &kgo.Record{Topic: "shop.notifications", Partition: 0, Key: key, Value: value})
}

func (c *fakeConnector) produce(ctx context.Context, recs ...*kgo.Record) {
	for _, r := range recs {
		if r.Topic == "shop.public.items" && r.Partition == 0 && r.Key != nil {
			var k struct{ ID int64 }
			_ = json.Unmarshal(r.Key, &k)
			r.Partition = int32(k.ID % 3)
		}
	}
	if err := c.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil && ctx.Err() == nil {
		c.t.Errorf("connector: produce: %v", err)
	}
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
	conn := newFakeConnector(t, kc.ListenAddrs(), d, maps.Clone(source))
	conn.live = []map[int64]*item{
		{7: {Name: "renamed", Qty: 70}, 500: {Name: "new", Qty: 500}},
		{8: nil, 9: {Name: "hidden now", Qty: 9}},
		{1: {Name: "first again", Qty: 1}},
	}
	for _, changes := range conn.live {
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
	conn := newFakeConnector(t, kc.ListenAddrs(), d, maps.Clone(source))
	conn.gate = make(chan struct{})
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
