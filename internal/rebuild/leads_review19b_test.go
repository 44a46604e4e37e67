package rebuild

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks/elasticsearch/esfake"
)

// TestR19bFromSourceBeforeAnyDaemon: `projector rebuild --from source` on a
// database no `projector run` has deployed the view to yet (the natural way
// to bootstrap a view from its source table). The registry then records
// generation 1 as served, but its table item_view__g1 was never created: the
// re-read writes every change to it through the live routes, and the
// PostgreSQL sink retries "relation item_view__g1 does not exist" forever.
// The rebuild must either work or fail at once with an error that says
// why; it must not hang until the caller gives up.
func TestR19bFromSourceBeforeAnyDaemon(t *testing.T) {
	r19bFromSourceBeforeAnyDaemon(t, newFixture(t), "")
}

// TestR19bFromSourceBeforeAnyDaemonElasticsearch: the same with the view in
// Elasticsearch too; once swapped, readers of the alias find every row.
func TestR19bFromSourceBeforeAnyDaemonElasticsearch(t *testing.T) {
	es := esfake.New()
	es.Start()
	t.Cleanup(es.Close)
	r19bFromSourceBeforeAnyDaemon(t, newFixtureWith(t, "", es.URL()), es.URL())
}

func r19bFromSourceBeforeAnyDaemon(t *testing.T, f *fixture, es string) {
	srcPool, srcURL := testenv.Postgres(t)
	bg := context.Background()
	if _, err := srcPool.Exec(bg, `CREATE TABLE public.items (id bigint PRIMARY KEY, name text, qty bigint);
		INSERT INTO public.items SELECT g, 'item-' || g, g FROM generate_series(1, 20) g;`); err != nil {
		t.Fatal(err)
	}
	source := map[int64]*item{}
	for id := int64(1); id <= 20; id++ {
		source[id] = &item{Name: "item-" + itoa(id), Qty: id}
	}
	env := f.openEnv()
	// A rebuild of 20 rows takes well under a second; 15 s stands for the
	// operator who eventually presses Ctrl-C.
	ctx, cancel := context.WithTimeout(bg, 15*time.Second)
	defer cancel()
	_, err := Run(ctx, env, Options{View: "item_view", From: "source", Keep: 0,
		SourceURLs: map[string]string{"items": srcURL}, WaitTimeout: 5 * time.Second})
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
		t.Fatalf("rebuild --from source before any daemon ran did not end by itself: %v", err)
	}
	if err != nil {
		t.Fatalf("rebuild --from source before any daemon ran: %v", err)
	}
	f.wantDocs(source)
	if es == "" {
		return
	}
	if got := esGet(t, es+"/_alias/items"); !strings.Contains(got, `"items-g2"`) || strings.Contains(got, `"items-g1"`) {
		t.Errorf("alias after the swap: %s", got)
	}
	esGet(t, es+"/items/_refresh")
	var count struct{ Count int }
	if err := json.Unmarshal([]byte(esGet(t, es+"/items/_count")), &count); err != nil || count.Count != 20 {
		t.Errorf("readers of the alias count %d documents (%v), want 20", count.Count, err)
	}
}

// TestR19bFromKafkaLogStartMovedSaysNothing: the state lost rows (the case
// --from kafka exists for) and retention moved the topic's log start past
// the records that created them. The replay cannot bring them back; the
// code knows it (replayWindow.whole is false) yet the rebuild succeeds,
// serves a view without those rows and says nothing: no error, no warning.
func TestR19bFromKafkaLogStartMovedSaysNothing(t *testing.T) {
	kc := itemsCluster(t, 1)
	f, h := newKafkaHistoryOn(t, kc)
	bg := context.Background()
	for id := int64(1); id <= 20; id++ {
		h.step(map[int64]*item{id: {Name: "item", Qty: id}})
	}
	h.publish()

	// Retention takes the first 10 records (items 1..10).
	cl, err := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var offs kadm.Offsets
	offs.Add(kadm.Offset{Topic: h.topic, Partition: 0, At: 10})
	res, err := kadm.NewClient(cl).DeleteRecords(bg, offs)
	if err == nil {
		err = res.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
	// The state loses items 1..5.
	if _, err := f.pool.Exec(bg, `DELETE FROM projector.state_items WHERE key IN ('1','2','3','4','5')`); err != nil {
		t.Fatal(err)
	}

	var logs r19bLogs
	env := f.openEnv()
	out, err := Run(bg, env, Options{View: "item_view", From: "kafka", Keep: 0, ReplayIdle: 5 * time.Second,
		Log: slog.New(&logs)})
	rows, rerr := f.readerRows(bg)
	if rerr != nil {
		t.Fatal(rerr)
	}
	t.Logf("replayed %d records; the view holds %d of 20 rows; warnings: %v", out.Replayed, len(rows), logs.warnings())
	if err == nil && len(logs.warnings()) == 0 {
		t.Errorf("rebuild --from kafka of a topic whose log start moved to offset 10 succeeded with no warning; the rebuilt view holds %d of the 20 rows", len(rows))
	}
}

// r19bLogs keeps the warnings logged.
type r19bLogs struct {
	mu   sync.Mutex
	warn []string
}

func (l *r19bLogs) Enabled(context.Context, slog.Level) bool { return true }
func (l *r19bLogs) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		l.mu.Lock()
		l.warn = append(l.warn, r.Message)
		l.mu.Unlock()
	}
	return nil
}
func (l *r19bLogs) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *r19bLogs) WithGroup(string) slog.Handler      { return l }
func (l *r19bLogs) warnings() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.warn...)
}

// r19bPGProxy forwards PostgreSQL connections and, once armed by a
// statement activating a generation (the registry swap), forwards that
// transaction's COMMIT but loses its answer: the connection is cut after
// the server answered, so the transaction committed and the client sees an
// error.
type r19bPGProxy struct {
	ln      net.Listener
	backend string
	cut     atomic.Bool // the answer of a COMMIT was lost
	wg      sync.WaitGroup
}

func r19bNewPGProxy(t *testing.T, backend string) *r19bPGProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &r19bPGProxy{ln: ln, backend: backend}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go func() { defer p.wg.Done(); p.serve(c) }()
		}
	}()
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

func (p *r19bPGProxy) serve(client net.Conn) {
	server, err := net.Dial("tcp", p.backend)
	if err != nil {
		client.Close()
		return
	}
	var (
		once sync.Once
		hold atomic.Bool // the answer to the COMMIT sent is to be lost
	)
	closeBoth := func() { once.Do(func() { client.Close(); server.Close() }) }
	defer closeBoth()
	done := make(chan struct{})
	go func() { // server → client
		defer close(done)
		buf := make([]byte, 32<<10)
		for {
			n, err := server.Read(buf)
			if n > 0 {
				if hold.Load() {
					p.cut.Store(true)
					closeBoth()
					return
				}
				if _, werr := client.Write(buf[:n]); werr != nil {
					closeBoth()
					return
				}
			}
			if err != nil {
				closeBoth()
				return
			}
		}
	}()
	// client → server, message by message.
	r := client
	startup := true
	armed := false
	for {
		var msg []byte
		if startup {
			var hdr [4]byte
			if _, err := io.ReadFull(r, hdr[:]); err != nil {
				break
			}
			n := binary.BigEndian.Uint32(hdr[:])
			msg = make([]byte, n)
			copy(msg, hdr[:])
			if _, err := io.ReadFull(r, msg[4:]); err != nil {
				break
			}
			code := binary.BigEndian.Uint32(msg[4:8])
			startup = code == 80877103 || code == 80877104 // SSL or GSS request: a startup follows
		} else {
			var hdr [5]byte
			if _, err := io.ReadFull(r, hdr[:]); err != nil {
				break
			}
			n := binary.BigEndian.Uint32(hdr[1:])
			msg = make([]byte, n+1)
			copy(msg, hdr[:])
			if _, err := io.ReadFull(r, msg[5:]); err != nil {
				break
			}
			body := msg[5:]
			if bytes.Contains(body, []byte("SET state = 'active', swapped_at")) {
				armed = true
			}
			if armed && msg[0] == 'Q' && bytes.Contains(bytes.ToLower(body), []byte("commit")) && !p.cut.Load() {
				hold.Store(true)
			}
		}
		if _, err := server.Write(msg); err != nil {
			break
		}
	}
	closeBoth()
	<-done
}

// TestR19bSwapCommitAnswerLost: the registry's swap transaction commits
// but its answer is lost (the connection breaks after COMMIT reached the
// server). The registry then serves generation 2 in every store (and the
// PostgreSQL readers, moved in the same transaction, are on it), but the
// rebuild takes the error for a refused swap and moves the Elasticsearch
// alias back to generation 1 (swap.go), which the daemons stop writing:
// Elasticsearch readers are left on a retired, frozen index for good
// (--resume finds nothing to resume, and the drop of generation 1 is
// refused while the alias is on it).
func TestR19bSwapCommitAnswerLost(t *testing.T) {
	es := esfake.New()
	es.Start()
	t.Cleanup(es.Close)
	f := newFixtureWith(t, "", es.URL())
	d := f.startDaemon()
	f.seed(d, 1, 30)
	bg := context.Background()

	u, err := url.Parse(f.cfg.Stores.Postgres.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := r19bNewPGProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	cfg := *f.cfg
	cfg.Stores.Postgres.URL = u.String()
	env, err := Open(bg, &cfg, f.plan, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()

	_, err = Run(bg, env, Options{View: "item_view", Keep: time.Hour, WaitTimeout: 10 * time.Second})
	if !proxy.cut.Load() {
		t.Fatalf("the swap's COMMIT answer was not cut (rebuild: %v)", err)
	}
	_, rerr := Resume(bg, env, Options{View: "item_view", WaitTimeout: 10 * time.Second})
	t.Logf("rebuild: %v; --resume: %v", err, rerr)

	snap, serr := f.r19bRegistry().Snapshot(bg)
	if serr != nil {
		t.Fatal(serr)
	}
	served := snap.Serving("item_view", registry.StoreElasticsearch)
	var aliases map[string]json.RawMessage
	body := esGet(t, es.URL()+"/_alias/items")
	if jerr := json.Unmarshal([]byte(body), &aliases); jerr != nil {
		t.Fatalf("alias: %s: %v", body, jerr)
	}
	var on []string
	for index := range aliases {
		on = append(on, index)
	}
	want := "items-g" + itoa(int64(served))
	if len(on) != 1 || on[0] != want {
		t.Errorf("after a swap whose commit answer was lost (rebuild: %v), the registry serves elasticsearch generation %d but the alias readers search is on %s",
			err, served, strings.Join(on, ","))
	}
	if pg := snap.Serving("item_view", registry.StorePostgres); f.readerTable() != "item_view__g"+itoa(int64(pg)) {
		t.Errorf("postgres readers on %s, registry serves %d", f.readerTable(), pg)
	}
}

func (f *fixture) r19bRegistry() *registry.Registry {
	return registry.New(f.pool, f.cfg.Stores.Postgres.Schema)
}

// TestR19bFromKafkaLogStartMovedMissingColumn: the same replay, for a view
// that now reads a column the state did not keep for older rows. The rows
// whose records retention removed would be served with it null, which a
// rebuild from the state refuses: the replay refuses too, naming both.
func TestR19bFromKafkaLogStartMovedMissingColumn(t *testing.T) {
	kc := itemsCluster(t, 1)
	f, h := newKafkaHistoryOn(t, kc)
	bg := context.Background()
	for id := int64(1); id <= 20; id++ {
		h.step(map[int64]*item{id: {Name: "item", Qty: id}})
	}
	h.publish()
	h.d.stop()
	cl, err := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var offs kadm.Offsets
	offs.Add(kadm.Offset{Topic: h.topic, Partition: 0, At: 10})
	res, err := kadm.NewClient(cl).DeleteRecords(bg, offs)
	if err == nil {
		err = res.Error()
	}
	if err != nil {
		t.Fatal(err)
	}

	f.withFields("id: id, name: name, qty: qty, color: color")
	f.cfg.Kafka.Brokers = kc.ListenAddrs()
	_, err = Run(bg, f.openEnv(), Options{View: "item_view", From: "kafka", Keep: 0, ReplayIdle: 5 * time.Second})
	if !errors.Is(err, ErrIncompleteState) || !strings.Contains(err.Error(), "items.color") ||
		!strings.Contains(err.Error(), h.topic+"/0 from offset 10") {
		t.Fatalf("rebuild --from kafka of a trimmed log for a view reading a column the state lacks: %v, want ErrIncompleteState naming items.color and the partition", err)
	}
}
