package rebuild

// --from signal asks each source's Debezium connector for an incremental
// snapshot through its Kafka signal channel, the one way to re-read a
// source projector cannot query itself (MongoDB), and waits for the
// connector to report it complete on its notification topic.
//
//  1. The end offsets of the view's topics and of the notification topics
//     are taken, then one execute-snapshot signal goes to each connector
//     (key: its topic.prefix; value: {"id", "type", "data"}, as Debezium's
//     KafkaSignalChannel reads it). The offsets and the signal id are
//     recorded in the registry, so --resume waits for the same snapshot
//     (or, after a snapshot that failed, asks for a new one).
//  2. From those offsets the view's topics are replayed into the state, as
//     --from kafka does, while the notification topics are watched for the
//     signal's id: Debezium sends the snapshot's notifications with the id
//     of the signal that started it. ABORTED, a table scan that did not
//     succeed, or a notification it cannot read (Avro) fails the rebuild.
//  3. Once every connector reported COMPLETED, the replay goes on up to the
//     topics' end offsets of that moment: Debezium queues a notification
//     behind the snapshot records emitted before it.
//  4. A state row of a snapshotted source whose key no record of the window
//     carried (no snapshot read, no change) and that no change wrote since
//     the signal went out is gone from the source: it is deleted at its own
//     position, so that a change the stream brings meanwhile, being newer,
//     wins. The keys carried are kept in the query PostgreSQL (windowKeys),
//     not in the process: a table of any size is re-read in bounded memory.
//
// Then the generation is filled from the state like any other.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/internal/kafkautil"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/projector"
)

// ErrSnapshotFailed reports an incremental snapshot Debezium aborted or
// could not complete.
var ErrSnapshotFailed = errors.New("the incremental snapshot did not complete")

// signalAggregate is the aggregate_type of incremental snapshot notifications.
const signalAggregate = "Incremental Snapshot"

// signalWarnAfter is how long the rebuild waits for a first notification
// before it says what to check.
var signalWarnAfter = time.Minute

// connectorSignal is the signal sent to one connector.
type connectorSignal struct {
	Connector     string   `json:"connector"`     // topic.prefix: the signal's key
	Topic         string   `json:"topic"`         // signal.kafka.topic
	Notifications string   `json:"notifications"` // notification.sink.topic.name
	Collections   []string `json:"collections"`
	Sources       []string `json:"sources"`
}

// signalRun is what a rebuild --from signal sent, as the registry keeps it.
type signalRun struct {
	ID         string                     `json:"id"`
	SentAt     time.Time                  `json:"sent_at"`
	Connectors []connectorSignal          `json:"connectors"`
	Starts     map[string]map[int32]int64 `json:"starts"` // topic → partition → first offset to read
	// StateTime is the query PostgreSQL's clock when the signal went out:
	// a state row written since then is newer than the snapshot's start.
	StateTime time.Time `json:"state_time"`
}

// signalTargets groups the view's sources by the connector that serves them.
func (r *run) signalTargets() ([]connectorSignal, error) {
	var out []connectorSignal
	var missing []string
	for _, src := range viewSources(r.env.Plan.View(r.gen.View)) {
		cs, _ := r.env.Config.Sources.Get(src.Name)
		s := cs.Signal
		if s.Connector == "" || s.Collection == "" || s.Notifications == "" {
			missing = append(missing, src.Name)
			continue
		}
		i := slices.IndexFunc(out, func(c connectorSignal) bool {
			return c.Connector == s.Connector && c.Topic == s.Topic && c.Notifications == s.Notifications
		})
		if i < 0 {
			out = append(out, connectorSignal{Connector: s.Connector, Topic: s.Topic, Notifications: s.Notifications})
			i = len(out) - 1
		}
		out[i].Collections = append(out[i].Collections, s.Collection)
		out[i].Sources = append(out[i].Sources, src.Name)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("--from signal: source %s has no signal.notifications (the connector's notification.sink.topic.name, "+
			"with notification.enabled.channels=sink); its connector, collection and signal topic default from the topic",
			strings.Join(missing, ", "))
	}
	return out, nil
}

// incrementalSnapshot re-reads the view's sources through Debezium.
func (r *run) incrementalSnapshot(ctx context.Context) error {
	targets, err := r.signalTargets()
	if err != nil {
		return err
	}
	// Transaction markers come as control records: a log ending in them
	// is read to its end offset, not waited on.
	// The signals are produced by this client too.
	opts, err := kafkautil.ClientOpts(r.env.Config.Kafka)
	if err != nil {
		return fmt.Errorf("--from signal: %w", err)
	}
	// Health names the cause (a TLS or SASL refusal) of what would
	// otherwise end as a bare timeout or EOF.
	health := kafkautil.NewHealth(nil)
	opts = append(append(opts, health.Opt(), kgo.ClientID("projector-rebuild"), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords()), r.opts.Kafka...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("--from signal: kafka client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)

	var sig signalRun
	if len(r.gen.Signal) > 0 {
		if err := json.Unmarshal(r.gen.Signal, &sig); err != nil {
			return fmt.Errorf("--from signal: the recorded signal: %w", err)
		}
		r.opts.Log.Info("waiting for the incremental snapshot requested before", "id", sig.ID, "sent", sig.SentAt)
	} else if sig, err = r.sendSignals(ctx, cl, adm, targets); err != nil {
		return health.Explain(err)
	}
	// The snapshot's rows are written from the signal on, resumed or not.
	r.since = sig.StateTime
	// The routes stay open until the deletions are written too.
	release, err := r.useLiveRoutes(ctx)
	if err != nil {
		return err
	}
	defer release()

	keys, err := r.newWindowKeys(ctx)
	if err != nil {
		return err
	}
	defer keys.close()
	timeout := time.Duration(r.env.Config.Rebuild.SignalTimeout)
	wctx, cancel := context.WithDeadline(ctx, sig.SentAt.Add(timeout))
	defer cancel()
	w, err := r.followSnapshot(wctx, cl, adm, sig, keys)
	if err != nil {
		if wctx.Err() != nil && ctx.Err() == nil {
			err = fmt.Errorf("--from signal: %w: no COMPLETED notification for signal %s within rebuild.signal_timeout (%s) of its sending; "+
				"check that the connector reads signals from Kafka (signal.enabled.channels) and reports to the notification topic",
				ErrSnapshotFailed, sig.ID, timeout)
		}
		err = health.Explain(err)
		if errors.Is(err, ErrSnapshotFailed) {
			// That snapshot is over: --resume asks for a new one.
			if ferr := r.env.Registry.SetSignal(context.WithoutCancel(ctx), r.gen.View, r.gen.Number, nil); ferr != nil {
				return errors.Join(err, ferr)
			}
			r.gen.Signal = nil
		}
		return err
	}
	if w.short {
		// Records before the end may be unread (an open transaction): a
		// row they carry must not be deleted as gone, nor counted read.
		r.whole = false
		if err := r.rereadPartly(ctx, "the snapshot ended short of the topics' end offsets", "--from source, or --from signal again"); err != nil {
			return err
		}
		r.opts.Log.Warn("--from signal: the snapshot ended short of the end offsets; rows no record carried are kept")
		return nil
	}
	for _, c := range sig.Connectors {
		for _, name := range c.Sources {
			if err := r.deleteUnread(ctx, r.env.Plan.Source(name), keys, sig.StateTime); err != nil {
				return fmt.Errorf("--from signal: source %s: %w", name, err)
			}
		}
	}
	return nil
}

// sendSignals takes the start offsets, sends one execute-snapshot signal
// per connector and records what it sent.
func (r *run) sendSignals(ctx context.Context, cl *kgo.Client, adm *kadm.Client, targets []connectorSignal) (signalRun, error) {
	topics := viewTopics(r.env.Plan.View(r.gen.View))
	for _, t := range targets {
		if !slices.Contains(topics, t.Notifications) {
			topics = append(topics, t.Notifications)
		}
	}
	var ends kadm.ListedOffsets
	err := r.untilAnswered(ctx, topics, func(ctx context.Context) (bool, error) {
		var err error
		if ends, err = adm.ListCommittedOffsets(ctx, topics...); err != nil { // last stable offsets: a transaction still open is read from its start
			return false, err
		}
		return true, ends.Error()
	})
	if err != nil {
		return signalRun{}, fmt.Errorf("--from signal: end offsets of %v (does every topic exist?): %w", topics, err)
	}
	sig := signalRun{ID: signalID(r.gen.View, r.gen.Number), Connectors: targets, Starts: map[string]map[int32]int64{}}
	if err := r.env.Pool.QueryRow(ctx, `SELECT now()`).Scan(&sig.StateTime); err != nil {
		return signalRun{}, fmt.Errorf("--from signal: read the clock: %w", err)
	}
	ends.Each(func(o kadm.ListedOffset) {
		if sig.Starts[o.Topic] == nil {
			sig.Starts[o.Topic] = map[int32]int64{}
		}
		sig.Starts[o.Topic][o.Partition] = o.Offset
	})
	for _, t := range targets {
		value, err := json.Marshal(map[string]any{
			"id": sig.ID, "type": "execute-snapshot",
			"data": map[string]any{"data-collections": t.Collections, "type": "incremental"},
		})
		if err != nil {
			return signalRun{}, err
		}
		// Debezium reads partition 0 of its signal topic only.
		rec := &kgo.Record{Topic: t.Topic, Partition: 0, Key: []byte(t.Connector), Value: value}
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err = cl.ProduceSync(pctx, rec).FirstErr()
		cancel()
		if err != nil {
			return signalRun{}, fmt.Errorf("--from signal: send the signal to connector %s on topic %s: %w", t.Connector, t.Topic, err)
		}
		r.res.signaled = true
		r.opts.Log.Info("incremental snapshot requested", "connector", t.Connector, "collections", t.Collections, "signal_topic", t.Topic, "id", sig.ID)
	}
	sig.SentAt = time.Now()
	b, err := json.Marshal(sig)
	if err != nil {
		return signalRun{}, err
	}
	if err := r.env.Registry.SetSignal(ctx, r.gen.View, r.gen.Number, b); err != nil {
		return signalRun{}, err
	}
	r.gen.Signal = b
	return sig, nil
}

// signalID names one rebuild's signal; Debezium echoes it in notifications.
func signalID(view string, gen int) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return fmt.Sprintf("projector-%s-g%d-%s", view, gen, hex.EncodeToString(b))
}

// snapshotWindow is the replay of one incremental snapshot: the keys it
// carried per source, and per connector what Debezium reported.
type snapshotWindow struct {
	sig       signalRun
	short     bool                // ended idle, short of the end offsets
	keys      *windowKeys         // the state keys the records carried
	done      map[string]bool     // connector → COMPLETED
	heard     bool                // any notification of this signal
	notifiers map[string][]string // notification topic → connectors
}

// followSnapshot replays the view's topics from the recorded offsets into
// the state until every connector completed and the topics' end offsets of
// that moment are reached.
func (r *run) followSnapshot(ctx context.Context, cl *kgo.Client, adm *kadm.Client, sig signalRun, keys *windowKeys) (*snapshotWindow, error) {
	w := &snapshotWindow{sig: sig, keys: keys, done: map[string]bool{}, notifiers: map[string][]string{}}
	for _, c := range sig.Connectors {
		w.notifiers[c.Notifications] = append(w.notifiers[c.Notifications], c.Connector)
	}
	from := map[string]map[int32]kgo.Offset{}
	next := map[string]map[int32]int64{} // the next offset to read
	for topic, parts := range sig.Starts {
		from[topic], next[topic] = map[int32]kgo.Offset{}, map[int32]int64{}
		for p, o := range parts {
			from[topic][p], next[topic][p] = kgo.NewOffset().At(o), o
		}
	}
	total, err := r.sourceRows(ctx, sig)
	if err != nil {
		return nil, err
	}
	cl.AddConsumePartitions(from)
	r.opts.Progress.Phase("snapshot", total)
	defer r.opts.Progress.Done()

	warnAt := time.Now().Add(signalWarnAfter)
	idle := newStall(r.opts.ReplayIdle)
	var end map[string]map[int32]int64 // set once every connector completed
	for {
		if end != nil {
			if dropReached(end, next) {
				return w, nil
			}
			over, err := r.replayOver(ctx, adm, idle, slices.Sorted(maps.Keys(end)))
			if err != nil {
				return nil, fmt.Errorf("--from signal: %w", err)
			}
			if over {
				r.opts.Log.Warn("--from signal: no more records before the end offsets though the brokers answer", "topics_left", len(end))
				w.short = true
				return w, nil
			}
		}
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		fetches := cl.PollRecords(pctx, r.pollRecords())
		cancel()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err := fetchErrors(fetches); err != nil {
			return nil, fmt.Errorf("--from signal: %w", err)
		}
		recs, err := w.take(r, fetches, next, end, idle)
		if err != nil {
			return nil, err
		}
		if len(recs) > 0 {
			if err := r.applyWindow(ctx, w, recs); err != nil {
				return nil, err
			}
		}
		if !w.heard && time.Now().After(warnAt) {
			r.opts.Log.Warn("no notification about the incremental snapshot yet: does the connector's signal.enabled.channels include kafka, "+
				"and notification.enabled.channels sink?", "id", sig.ID, "waited", time.Since(sig.SentAt).Round(time.Second))
			warnAt = time.Now().Add(10 * signalWarnAfter)
		}
		if end == nil && len(w.done) == len(sig.Connectors) {
			if end, err = r.dataEnds(ctx, adm, sig); err != nil {
				return nil, err
			}
			idle.progress()
		}
	}
}

// dropReached removes from end the partitions whose next offset reached
// their end offset, and reports whether none is left.
func dropReached(end, next map[string]map[int32]int64) bool {
	for t, parts := range end {
		for p, e := range parts {
			if next[t][p] >= e {
				delete(parts, p)
			}
		}
		if len(parts) == 0 {
			delete(end, t)
		}
	}
	return len(end) == 0
}

// take notes what fetches bring: each partition's next offset, the
// notifications, and the records of the view's topics, which it returns.
// A transaction marker moves its partition on like a record (a log may end
// in one) but is neither a change nor a notification.
func (w *snapshotWindow) take(r *run, fetches kgo.Fetches, next, end map[string]map[int32]int64, idle *stall) ([]projector.Record, error) {
	var recs []projector.Record
	var failed error
	fetches.EachRecord(func(rec *kgo.Record) {
		next[rec.Topic][rec.Partition] = rec.Offset + 1
		// Only progress towards the end offsets counts against the idle
		// limit: live traffic elsewhere must not keep the replay waiting.
		if e, ok := end[rec.Topic][rec.Partition]; end == nil || ok && rec.Offset < e {
			idle.progress()
		}
		if rec.Attrs.IsControl() {
			return
		}
		if _, ok := w.notifiers[rec.Topic]; ok {
			if err := w.notification(r, rec); err != nil && failed == nil {
				failed = err
			}
			return
		}
		recs = append(recs, projector.RecordOf(rec))
	})
	return recs, failed
}

// dataEnds lists the end offsets of the view's topics: the high
// watermarks, not the last stable offsets, which stop before a transaction
// still open; the snapshot's rows may be in it, and a window closed short
// of them would delete their rows as unread. The replay reaches a high
// watermark once the transaction's marker is read.
func (r *run) dataEnds(ctx context.Context, adm *kadm.Client, sig signalRun) (map[string]map[int32]int64, error) {
	topics := viewTopics(r.env.Plan.View(r.gen.View))
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("--from signal: end offsets of %v: %w", topics, err)
	}
	out := map[string]map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if _, ok := sig.Starts[o.Topic][o.Partition]; !ok {
			return // a partition added since: the daemons have it
		}
		if out[o.Topic] == nil {
			out[o.Topic] = map[int32]int64{}
		}
		out[o.Topic][o.Partition] = o.Offset
	})
	return out, nil
}

// applyWindow applies records of the view's topics to the state, in
// batches of at most kafka.batch_bytes, and notes the keys they carry.
func (r *run) applyWindow(ctx context.Context, w *snapshotWindow, recs []projector.Record) error {
	for _, batch := range byBytes(recs, r.batchBytes()) {
		keys, err := r.env.Engine.Keys(ctx, batch)
		if err != nil {
			return fmt.Errorf("--from signal: %w", err)
		}
		if err := w.keys.add(ctx, keys); err != nil {
			return err
		}
		if _, err := r.apply(ctx, batch); err != nil {
			return fmt.Errorf("--from signal: %w", err)
		}
		r.res.Replayed += int64(len(batch))
		r.opts.Progress.Add(int64(len(batch)))
	}
	return nil
}

// notification is one Debezium notification (the value of a record of the
// notification topic, with or without the JSON converter's schema).
type notification struct {
	ID             string            `json:"id"`
	AggregateType  string            `json:"aggregate_type"`
	Type           string            `json:"type"`
	AdditionalData map[string]string `json:"additional_data"`
}

// errAvroNotification is a notification in the Confluent Avro wire format,
// which the rebuild does not read.
var errAvroNotification = errors.New("the notification is Avro-encoded; give the connector's notifications a JSON value converter " +
	"(value.converter for the notification topic, e.g. through a topic-specific converter)")

func parseNotification(value []byte) (notification, error) {
	var env struct {
		Schema  json.RawMessage `json:"schema"`
		Payload json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(value, &env); err == nil && len(env.Schema) > 0 && len(env.Payload) > 0 {
		value = env.Payload
	}
	var n notification
	if len(value) > 0 && value[0] == 0 {
		return n, errAvroNotification
	}
	err := json.Unmarshal(value, &n)
	return n, err
}

// notification takes in one record of a notification topic.
func (w *snapshotWindow) notification(r *run, rec *kgo.Record) error {
	n, err := parseNotification(rec.Value)
	if errors.Is(err, errAvroNotification) {
		return fmt.Errorf("--from signal: %s offset %d: %w", rec.Topic, rec.Offset, err)
	}
	if err != nil {
		r.opts.Log.Warn("--from signal: a notification could not be read", "topic", rec.Topic, "offset", rec.Offset, "err", err)
		return nil
	}
	if n.ID != w.sig.ID || n.AggregateType != signalAggregate {
		return nil
	}
	// The notification names its connector; on a topic shared by one
	// connector only, the topic is enough.
	connector := n.AdditionalData["connector_name"]
	if names := w.notifiers[rec.Topic]; connector == "" || !slices.Contains(names, connector) {
		if len(names) != 1 {
			connector = strings.Join(names, ",")
		} else {
			connector = names[0]
		}
	}
	w.heard = true
	d := n.AdditionalData
	switch n.Type {
	case "STARTED":
		r.opts.Log.Info("incremental snapshot started", "connector", connector, "collections", d["data_collections"])
	case "IN_PROGRESS":
		r.opts.Log.Debug("incremental snapshot in progress", "connector", connector, "collection", d["current_collection_in_progress"],
			"last_key", d["last_processed_key"], "max_key", d["maximum_key"])
	case "TABLE_SCAN_COMPLETED":
		r.opts.Log.Info("incremental snapshot scanned a collection", "connector", connector, "collection", d["scanned_collection"],
			"rows", d["total_rows_scanned"], "status", d["status"])
		if st := d["status"]; st != "" && st != "SUCCEEDED" && st != "EMPTY" {
			return fmt.Errorf("--from signal: %w: connector %s could not scan %s: %s", ErrSnapshotFailed, connector, d["scanned_collection"], st)
		}
	case "ABORTED":
		return fmt.Errorf("--from signal: %w: connector %s aborted it (signal %s)", ErrSnapshotFailed, connector, w.sig.ID)
	case "COMPLETED":
		r.opts.Log.Info("incremental snapshot completed", "connector", connector)
		for _, c := range strings.Split(connector, ",") {
			w.done[c] = true
		}
	}
	return nil
}

// sourceRows estimates the rows the snapshot reads: the live state rows
// of the sources it covers.
func (r *run) sourceRows(ctx context.Context, sig signalRun) (int64, error) {
	var total int64
	for _, c := range sig.Connectors {
		for _, name := range c.Sources {
			var n int64
			table := pgx.Identifier{r.env.Registry.Schema(), "state_" + name}.Sanitize()
			if err := r.env.Pool.QueryRow(ctx, `SELECT count(*) FROM `+table+` WHERE NOT deleted`).Scan(&n); err != nil {
				return 0, fmt.Errorf("count the state of %s: %w", name, err)
			}
			total += n
		}
	}
	return total, nil
}

// deleteUnread deletes the live state rows of src that no record of the
// snapshot's window carried and that no change wrote since the signal went
// out (before), each at its own position: the source no longer has them.
// A row written since then is left alone whatever its position says: a
// PostgreSQL transaction's changes carry the WAL position of their writes,
// not of their commit, so a transaction that committed after the snapshot
// can bring a row with a position older than the snapshot's reads.
func (r *run) deleteUnread(ctx context.Context, src *projections.Source, keys *windowKeys, before time.Time) error {
	if !keys.carried[src.Name] {
		// Not one record: an empty collection, or a snapshot that read
		// nothing. Deleting every row on that evidence is too bold.
		r.opts.Log.Warn("--from signal: the snapshot carried no row of this source; its state is left as it was", "source", src.Name)
		return nil
	}
	return r.deleteStateRows(ctx, src, `s.updated_at < $1`, before, keys.carriedOf(src.Name), func(stored debezium.Position) debezium.Position { return stored })
}
