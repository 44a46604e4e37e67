package rebuild

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// cancelAt cancels the rebuild when it enters a phase.
type cancelAt struct {
	phase  string
	cancel context.CancelFunc
}

func (c cancelAt) Phase(name string, _ int64) {
	if name == c.phase {
		c.cancel()
	}
}
func (cancelAt) Add(int64) {}
func (cancelAt) Done()     {}

// TestAbortAfterSourceReReadRedis: a rebuild --from source re-reads
// the source (a row the projector missed the delete of, a row it holds an
// old version of), is interrupted before its fill and then abandoned. The
// served PostgreSQL generation and the view's live Redis keys get the
// re-read's changes as it goes: Redis has no generations, so keys left for
// the fill would keep serving the deleted row and the old version after
// --abort, and no later change would correct them.
func TestAbortAfterSourceReReadRedis(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	ctx := context.Background()
	srcPool, srcURL := testenv.Postgres(t)
	if _, err := srcPool.Exec(ctx, `CREATE TABLE public.items (id bigint PRIMARY KEY, name text, qty bigint);
		INSERT INTO public.items SELECT g, 'item-' || g, g FROM generate_series(1, 20) g;
		UPDATE public.items SET name = 'renamed', qty = 50 WHERE id = 5;
		DELETE FROM public.items WHERE id = 7;`); err != nil {
		t.Fatal(err)
	}
	f.seed(d, 1, 20)
	source := map[int64]*item{}
	for id := int64(1); id <= 20; id++ {
		source[id] = &item{Name: "item-" + itoa(id), Qty: id}
	}
	source[5], source[7] = &item{Name: "renamed", Qty: 50}, nil

	env := f.openEnv()
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	_, err := Run(rctx, env, Options{View: "item_view", From: "source", Keep: 0, Chunk: 50,
		SourceURLs: map[string]string{"items": srcURL}, Progress: cancelAt{phase: "fill", cancel: cancel}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted rebuild: %v, want context.Canceled", err)
	}
	if _, err := Abort(ctx, env, "item_view", time.Minute); err != nil {
		t.Fatalf("abort: %v", err)
	}
	if got := f.readerTable(); got != "item_view__g1" {
		t.Fatalf("readers see %s, want item_view__g1", got)
	}
	// Served PostgreSQL matches the source (the re-read wrote g1); Redis
	// must too: the state the daemons go on from says 7 is gone and 5 renamed.
	f.wantDocs(source)
}

// TestSignalResumeAfterAbort: Debezium aborted the incremental
// snapshot (or it timed out); the rebuild fails but the generation stays
// "building" with the dead signal recorded. --resume then waits for that
// same signal again: it re-reads the ABORTED notification and fails, every
// time — the generation can only be abandoned, never resumed.
func TestSignalResumeAfterAbort(t *testing.T) {
	kc := signalCluster(t)
	f := newFixtureWith(t, strings.Join(kc.ListenAddrs(), ","), "")
	d := f.startDaemon()
	source := f.seed(d, 1, 50)
	conn := newFakeConnector(t, kc.ListenAddrs(), "shop", "public.items", &itemsTable{d: d, rows: maps.Clone(source), chunk: 40}, false)
	conn.mu.Lock()
	conn.abort = true
	conn.mu.Unlock()
	env := f.openEnv()
	ctx := context.Background()
	_, err := Run(ctx, env, Options{View: "item_view", From: registry.SourceSignal, Keep: 0, ReplayIdle: 2 * time.Second})
	if !errors.Is(err, ErrSnapshotFailed) {
		t.Fatalf("aborted snapshot: %v, want ErrSnapshotFailed", err)
	}
	// The connector works again (restarted, the table fixed, ...).
	conn.mu.Lock()
	conn.abort = false
	conn.mu.Unlock()
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, err := Resume(rctx, env, Options{View: "item_view", Keep: 0, ReplayIdle: 2 * time.Second})
	t.Logf("signals the connector got: %q", conn.signals())
	if err != nil {
		t.Fatalf("resume after an aborted snapshot: %v", err)
	}
	if res.Generation != 2 {
		t.Errorf("resumed generation %d", res.Generation)
	}
	f.wantDocs(source)
}

// lateSource streams, during the snapshot, one insert of a long-running
// transaction: its change LSN is older than the snapshot's reads (Debezium
// PostgreSQL positions are change LSNs, not commit LSNs), it was not
// visible to the snapshot's chunk queries, and its record reaches Kafka
// after the window (the transaction commits after COMPLETED). A daemon
// applies it before deleteUnread lists the state.
type lateSource struct {
	*itemsTable
	done bool
}

func (s *lateSource) stream(ctx context.Context) ([]*kgo.Record, error) {
	if !s.done {
		s.done = true
		d := s.d
		d.mu.Lock()
		d.offset++
		rec := projector.Record{Topic: "shop.public.items", Offset: d.offset, Key: []byte(`{"id":600}`),
			Value: envelope(600, &item{Name: "late", Qty: 600}, d.lsn-4)}
		d.mu.Unlock()
		if err := d.process(ctx, []projector.Record{rec}); err != nil {
			return nil, err
		}
	}
	return s.itemsTable.stream(ctx)
}

// TestSignalDeletesRowCommittedAfterWindow: deleteUnread deletes every
// unseen live row whose position is <= the NEWEST position of the window.
// A row written by the stream with an older position that was not in the
// window (long transaction committing after the window) is deleted, though
// the source has it.
func TestSignalDeletesRowCommittedAfterWindow(t *testing.T) {
	kc := signalCluster(t)
	f := newFixtureWith(t, strings.Join(kc.ListenAddrs(), ","), "")
	d := f.startDaemon()
	source := f.seed(d, 1, 100)
	src := &lateSource{itemsTable: &itemsTable{d: d, rows: maps.Clone(source), chunk: 40}}
	newFakeConnector(t, kc.ListenAddrs(), "shop", "public.items", src, false)
	source[600] = &item{Name: "late", Qty: 600}
	env := f.openEnv()
	res, err := Run(context.Background(), env, Options{View: "item_view", From: registry.SourceSignal, Keep: 0,
		ReplayIdle: 2 * time.Second, VerifyTimeout: 2 * time.Second})
	var deleted bool
	if qerr := f.pool.QueryRow(context.Background(), `SELECT deleted FROM projector.state_items WHERE key = '600'`).Scan(&deleted); qerr != nil || deleted {
		t.Errorf("state row 600 (the source has it): deleted=%v err=%v; rebuild deleted %d rows", deleted, qerr, res.SourceDeleted)
	}
	if err != nil {
		t.Fatalf("rebuild --from signal: %v", err)
	}
	f.wantDocs(source)
}

// TestSignalDeleteUnreadReachesServedTargets: deleteUnread runs after
// followSnapshot returned, and followSnapshot's deferred release() already
// retired the guards of the served targets the engine's routes still name.
// The deletes it makes are applied to the state (revisions bumped, pending
// rows cleared) but their documents are written to dead guards, which drop
// them: every other view over the source keeps serving the deleted rows.
func TestSignalDeleteUnreadReachesServedTargets(t *testing.T) {
	kc := signalCluster(t)
	yaml := strings.Replace(itemsYAML, "views:\n", `views:
  item_copy:
    from: items
    fields: { id: id, name: name, qty: qty }
    sinks:
      postgres: { table: item_copy }
`, 1)
	f := newFixtureYAML(t, yaml, strings.Join(kc.ListenAddrs(), ","), "")
	d := f.startDaemon()
	ctx := context.Background()
	source := f.seed(d, 1, 100)
	delete(source, 3) // gone from the source, the delete never reached the projector
	newFakeConnector(t, kc.ListenAddrs(), "shop", "public.items", &itemsTable{d: d, rows: maps.Clone(source), chunk: 40}, false)
	env := f.openEnv()
	res, err := Run(ctx, env, Options{View: "item_view", From: registry.SourceSignal, Keep: 0, ReplayIdle: 2 * time.Second})
	if err != nil {
		t.Fatalf("rebuild --from signal: %v", err)
	}
	if res.SourceDeleted != 1 {
		t.Fatalf("deleted %d state rows, want 1 (3)", res.SourceDeleted)
	}
	f.wantDocs(source)
	var n int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM item_copy WHERE id = 3`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("view item_copy still serves document 3, which the state deleted")
	}
}

// TestSignalEndsAfterTransactionMarker: a partition of the view's
// topic whose log ends in a transaction marker (Kafka Connect with
// exactly.once.support writes every batch in a transaction) never gets
// next >= end, since no record sits at the marker's offset. followSnapshot's
// only way out is ReplayIdle without ANY record, but lastRecord is refreshed
// by every record of every partition and topic (live traffic on the other
// partitions, notifications): the replay keeps going until
// rebuild.signal_timeout (6h by default) and then fails, claiming no
// COMPLETED notification came.
func TestSignalEndsAfterTransactionMarker(t *testing.T) {
	kc := signalCluster(t)
	f := newFixtureWith(t, strings.Join(kc.ListenAddrs(), ","), "")
	d := f.startDaemon()
	source := f.seed(d, 1, 60)
	// The source has no row on partition 2 (id % 3 == 2) any more: the
	// snapshot writes nothing there.
	for id := range source {
		if id%3 == 2 {
			delete(source, id)
		}
	}
	table := &itemsTable{d: d, rows: maps.Clone(source), chunk: 40}
	conn := newFakeConnector(t, kc.ListenAddrs(), "shop", "public.items", table, true)
	env := f.openEnv()

	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := Run(ctx, env, Options{View: "item_view", From: registry.SourceSignal, Keep: 0, ReplayIdle: 2 * time.Second})
		errc <- err
	}()
	<-conn.signal

	// A transaction writes one record (a re-send of row 2, harmless) to
	// partition 2, after the start offsets: the partition ends in its
	// commit marker.
	txn, err := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...), kgo.TransactionalID("edge-connector"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer txn.Close()
	if err := txn.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	rec := itemRecord(3, readEnvelope(3, source[3], 1000))
	rec.Partition = 2
	if err := txn.ProduceSync(context.Background(), rec).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := txn.EndTransaction(context.Background(), kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	close(conn.gate)

	// Live traffic on partition 0 meanwhile (stale re-sends of row 3).
	live, err := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(300 * time.Millisecond):
			}
			r := itemRecord(3, readEnvelope(3, source[3], 1000))
			r.Partition = 0
			_ = live.ProduceSync(context.Background(), r).FirstErr()
		}
	}()
	defer func() { close(stop); wg.Wait() }()

	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("rebuild --from signal after %s: %v", time.Since(start).Round(time.Second), err)
		}
	case <-time.After(20 * time.Second):
		cancel()
		<-errc
		t.Fatalf("rebuild --from signal still replaying after 20s (ReplayIdle 2s): the partition ending in a transaction marker is never done")
	}
	f.wantDocs(source)
}

// TestPurgeSparesAnotherViewsKeys: purgeTemplate only spares keys the
// rebuilt view's own current template could give. When another view now
// uses the old template (item_copy moved to "item:{id}" while item_view
// moved to "thing:{id}"), the purge deletes that view's live documents.
func TestPurgeSparesAnotherViewsKeys(t *testing.T) {
	yaml := strings.Replace(itemsYAML, "views:\n", `views:
  item_copy:
    from: items
    fields: { id: id, name: name, qty: qty }
    sinks:
      postgres: { table: item_copy }
      redis: { key: "${PREFIX}copy:{id}" }
`, 1)
	f := newFixtureYAML(t, yaml, "", "")
	d := f.startDaemon()
	f.seed(d, 1, 30)
	d.stop()
	ctx := context.Background()

	f.setRedisKeys(map[string]string{"item_view": "thing:{id}", "item_copy": "item:{id}"})
	env := f.openEnv()
	if _, err := Run(ctx, env, Options{View: "item_copy", Keep: 0}); err != nil {
		t.Fatalf("rebuild item_copy: %v", err)
	}
	if keys, _ := f.rdb.Keys(ctx, f.prefix+"item:*").Result(); len(keys) != 30 {
		t.Fatalf("item_copy's keys after its rebuild: %d, want 30", len(keys))
	}
	if _, err := Run(ctx, env, Options{View: "item_view", Keep: 0}); err != nil {
		t.Fatalf("rebuild item_view: %v", err)
	}
	if keys, _ := f.rdb.Keys(ctx, f.prefix+"item:*").Result(); len(keys) != 30 {
		t.Errorf("item_copy's live keys (item:{id}) after item_view's rebuild purged its old template: %d, want 30", len(keys))
	}
}

// TestAvroNotificationFails: parseNotification recognises an
// Avro-encoded notification and builds an explicit error ("give the
// notification topic a JSON value converter"), but notification() only
// logs it and returns nil: with an Avro converter every notification is
// skipped and the rebuild waits the whole rebuild.signal_timeout (6h by
// default) before failing with "no COMPLETED notification".
func TestAvroNotificationFails(t *testing.T) {
	r := &run{opts: Options{Log: slog.New(slog.DiscardHandler)}}
	w := &snapshotWindow{sig: signalRun{ID: "projector-item_view-g2-x"}, done: map[string]bool{},
		notifiers: map[string][]string{"shop.notifications": {"shop"}}}
	avro := []byte{0, 0, 0, 0, 7, 0x30, 'p', 'r', 'o'} // Confluent wire format: magic 0, schema id, Avro body
	if err := w.notification(r, &kgo.Record{Topic: "shop.notifications", Value: avro}); err == nil {
		t.Errorf("an Avro notification was skipped silently; the rebuild then waits for the signal timeout")
	}
}
