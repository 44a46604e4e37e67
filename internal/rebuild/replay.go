package rebuild

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/internal/kafkautil"
	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

// replay applies the view's source topics, from their earliest offsets up
// to the end offsets taken at the start, to the state (--from kafka). It
// reads outside the consumer group, so the daemons go on as they were.
//
// Applying a change twice is harmless: the state keeps a row's newest
// position, so a replayed change older than what it holds is skipped, and
// one the state missed (a lost state, a bug fixed since) is applied. Every
// change that does apply records its affected documents of every view as
// pending and writes them, as the daemon would: the engine's routes are set
// to what the registry says the daemons write. The fill that follows then
// recomputes the whole view from the repaired state.
//
// A topic compacted since (a deleted row whose records are all gone) cannot
// bring that row back; its state row stays as it is.
//
// Brokers that stop answering fail the replay (ErrKafkaUnreachable, see
// stall): the rebuild must not fill and swap from a state replayed in part.
// The generation stays building, and --resume replays again.
func (r *run) replay(ctx context.Context) error {
	topics := viewTopics(r.env.Plan.View(r.gen.View))
	// Transaction markers come as control records: a log ending in them
	// is read to its end offset, not waited on.
	opts, err := kafkautil.ClientOpts(r.env.Config.Kafka)
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	// Health names the cause (a TLS or SASL refusal) of what would
	// otherwise end as a bare timeout or EOF.
	health := kafkautil.NewHealth(nil)
	opts = append(append(opts, health.Opt(), kgo.ClientID("projector-rebuild"), kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords()), r.opts.Kafka...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("replay: kafka client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	r.warnRetention(ctx, adm, topics)
	var win replayWindow
	err = r.untilAnswered(ctx, topics, func(ctx context.Context) (bool, error) {
		var answered bool
		win, answered, err = listReplayWindow(ctx, adm, topics)
		return answered, err
	})
	if err != nil {
		return health.Explain(err)
	}
	r.whole = win.whole
	if !win.whole {
		if err := r.partialReplay(ctx, win); err != nil {
			return err
		}
	}
	if len(win.end) == 0 {
		return nil
	}
	release, err := r.useLiveRoutes(ctx)
	if err != nil {
		return err
	}
	defer release()
	cl.AddConsumePartitions(win.from)
	r.opts.Progress.Phase("replay", win.total)
	defer r.opts.Progress.Done()
	return health.Explain(r.replayTo(ctx, cl, adm, win.end))
}

// partition names one partition of a topic.
type partition struct {
	topic     string
	partition int32
}

// replayWindow is what a replay reads: each partition from its start
// offset (from) up to its end offset (end), total records in all.
type replayWindow struct {
	from  map[string]map[int32]kgo.Offset
	end   map[partition]int64
	total int64
	// whole: every partition still starts at offset 0, so the replay reads
	// every row of the sources again (compaction keeps each key's latest
	// record); retention that removed a log's start may have taken rows.
	whole bool
	// trimmed are the partitions whose log no longer starts at offset 0,
	// with the offset it starts at.
	trimmed map[partition]int64
}

// partialReplay tells what a replay of logs retention trimmed cannot do:
// rows whose records are gone are not read again. They keep their state,
// so the rebuild goes on with a warning, unless the view reads columns
// the state did not keep for older rows, or a renamed source whose state
// lacks rows: those rows would be served with the columns null, or not at
// all, which --from state refuses too.
func (r *run) partialReplay(ctx context.Context, win replayWindow) error {
	var where []string
	for p, off := range win.trimmed {
		where = append(where, fmt.Sprintf("%s/%d from offset %d", p.topic, p.partition, off))
	}
	slices.Sort(where)
	trimmed := strings.Join(where, ", ")
	if err := r.rereadPartly(ctx, "retention removed the start of the log ("+trimmed+")", "--from source or signal"); err != nil {
		return err
	}
	r.opts.Log.Warn("replay: retention removed the start of the log; rows whose records are gone are not read again and keep their state",
		"view", r.gen.View, "partitions", trimmed)
	return nil
}

// listReplayWindow takes the start and end offsets of the partitions of
// topics that hold records. answered is false when the brokers did not
// answer a request at all (unreachable), true when they did, errors of
// single partitions (an unknown topic) included.
func listReplayWindow(ctx context.Context, adm *kadm.Client, topics []string) (w replayWindow, answered bool, err error) {
	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return replayWindow{}, false, fmt.Errorf("replay: start offsets of %v: %w", topics, err)
	}
	if err := starts.Error(); err != nil {
		return replayWindow{}, true, fmt.Errorf("replay: start offsets of %v: %w", topics, err)
	}
	ends, err := adm.ListCommittedOffsets(ctx, topics...) // last stable offsets: committed records only
	if err != nil {
		return replayWindow{}, false, fmt.Errorf("replay: end offsets of %v: %w", topics, err)
	}
	if err := ends.Error(); err != nil {
		return replayWindow{}, true, fmt.Errorf("replay: end offsets of %v: %w", topics, err)
	}
	w = replayWindow{from: map[string]map[int32]kgo.Offset{}, end: map[partition]int64{}, whole: true}
	starts.Each(func(s kadm.ListedOffset) {
		if s.Offset > 0 {
			w.whole = false
			if w.trimmed == nil {
				w.trimmed = map[partition]int64{}
			}
			w.trimmed[partition{s.Topic, s.Partition}] = s.Offset
		}
		e, ok := ends.Lookup(s.Topic, s.Partition)
		if !ok || e.Offset <= s.Offset {
			return
		}
		w.end[partition{s.Topic, s.Partition}] = e.Offset
		if w.from[s.Topic] == nil {
			w.from[s.Topic] = map[int32]kgo.Offset{}
		}
		w.from[s.Topic][s.Partition] = kgo.NewOffset().At(s.Offset)
		w.total += e.Offset - s.Offset
	})
	return w, true, nil
}

// replayTo applies the records the client fetches until every partition
// of end reached its end offset. Live records past an end offset, here or
// on another partition, are the daemons' and do not count as progress.
func (r *run) replayTo(ctx context.Context, cl *kgo.Client, adm *kadm.Client, end map[partition]int64) error {
	idle := newStall(r.opts.ReplayIdle)
	for len(end) > 0 {
		over, err := r.replayOver(ctx, adm, idle, waitedTopics(end))
		if err != nil {
			return err
		}
		if over {
			// The brokers answer but the records stop short: a gap at the
			// end of the log (compacted away) that no fetch will fill.
			r.opts.Log.Warn("replay: no more records before the end offsets though the brokers answer", "partitions_left", len(end))
			return nil
		}
		pctx, cancel := context.WithTimeout(ctx, idle.left())
		fetches := cl.PollRecords(pctx, r.pollRecords())
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := fetchErrors(fetches); err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		if err := r.replayRecords(ctx, takeReplayed(fetches, end, idle)); err != nil {
			return err
		}
	}
	return nil
}

// fetchErrors joins the errors of a poll other than its own time out.
func fetchErrors(fetches kgo.Fetches) error {
	var errs []error
	fetches.EachError(func(t string, p int32, err error) {
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			errs = append(errs, fmt.Errorf("%s/%d: %w", t, p, err))
		}
	})
	return errors.Join(errs...)
}

// takeReplayed picks the records below the end offsets out of fetches and
// removes from end the partitions they complete. A transaction marker
// completes its partition like a record but is no change to apply.
func takeReplayed(fetches kgo.Fetches, end map[partition]int64, idle *stall) []projector.Record {
	var recs []projector.Record
	fetches.EachRecord(func(rec *kgo.Record) {
		k := partition{rec.Topic, rec.Partition}
		e, ok := end[k]
		if !ok {
			return // a partition replayed to its end already
		}
		if rec.Offset >= e {
			delete(end, k) // past the end taken at the start: the daemons have it
			return
		}
		idle.progress()
		if rec.Offset+1 >= e {
			delete(end, k)
		}
		if !rec.Attrs.IsControl() {
			recs = append(recs, projector.RecordOf(rec))
		}
	})
	return recs
}

// waitedTopics lists the topics of the partitions a replay still waits for.
func waitedTopics(end map[partition]int64) []string {
	var topics []string
	for k := range end {
		if !slices.Contains(topics, k.topic) {
			topics = append(topics, k.topic)
		}
	}
	slices.Sort(topics)
	return topics
}

// replayRecords applies replayed records to the state, as the daemons do:
// in batches of at most kafka.batch_bytes.
func (r *run) replayRecords(ctx context.Context, recs []projector.Record) error {
	for _, batch := range byBytes(recs, r.batchBytes()) {
		dead, err := r.env.Engine.Process(ctx, batch)
		if err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		for _, d := range dead {
			r.res.DeadLetters++
			if r.res.DeadLetters <= 3 {
				r.opts.Log.Warn("replay: record not projected", "topic", d.Record.Topic, "partition", d.Record.Partition, "offset", d.Record.Offset, "err", d.Err)
			}
		}
		r.res.Replayed += int64(len(batch))
		r.opts.Progress.Add(int64(len(batch)))
	}
	return nil
}

// viewTopics lists the topics of the sources a view reads.
func viewTopics(v *projections.View) []string {
	topics := []string{v.Root.Topic}
	var walk func([]*projections.Field)
	walk = func(fields []*projections.Field) {
		for _, f := range fields {
			if f.Join != nil {
				if !slices.Contains(topics, f.Join.Source.Topic) {
					topics = append(topics, f.Join.Source.Topic)
				}
				walk(f.Join.Fields)
			}
		}
	}
	walk(v.Fields)
	return topics
}

// useLiveRoutes points the engine at the routes the daemons write to (see
// liveRoutes), for a run that applies changes to the state itself; release
// closes their sinks once the last change is written.
func (r *run) useLiveRoutes(ctx context.Context) (release func(), err error) {
	snap, err := r.env.Registry.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	unfit, err := r.env.ensureServed(ctx, snap)
	if err != nil {
		return nil, err
	}
	for k, why := range unfit {
		r.opts.Log.Warn("the served generation is left as it is while the sources are read again: its table does not take this file's documents (deploy the file to projector run first to keep it current)",
			"view", k.view, "generation", k.gen, "why", why)
	}
	routes, release, err := r.env.liveRoutes(snap, r.building, unfit)
	if err != nil {
		return nil, err
	}
	r.env.Engine.SetRoutes(routes)
	return release, nil
}

// ensureServed creates the served targets no daemon created: a rebuild
// that re-reads the sources before any `projector run` deployed the view
// (or a view sharing its sources) would otherwise write to a table that
// does not exist, and retry for ever. A served table that exists is left
// as it is (the daemons migrate it); unfit are those that cannot take this
// file's documents (a column the daemons have not added yet, a retyped
// one), with why: writes to them would fail for ever, so the re-read
// leaves them as they are, as it found them.
func (e *Env) ensureServed(ctx context.Context, snap registry.Snapshot) (unfit map[targetKey]error, err error) {
	unfit = map[targetKey]error{}
	recorded, err := e.Registry.Definitions(ctx)
	if err != nil {
		return nil, err
	}
	for k := range e.wanted(snap) {
		if b, ok := snap.Building(k.view); ok && b.Number == k.gen {
			continue // created with its generation
		}
		if k.store == registry.StorePostgres {
			s, err := e.postgresSink(k.view, k.gen)
			if err != nil {
				return nil, err
			}
			var exists bool
			name := e.targets(k.view, k.gen, []string{k.store})[k.store]
			if err := e.Pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, name).Scan(&exists); err != nil {
				return nil, fmt.Errorf("view %s: look for table %s: %w", k.view, name, err)
			}
			if exists {
				if why := s.Unfit(ctx, k.view); why != nil {
					unfit[k] = why
				}
				continue
			}
			if stack.DeployedTable(recorded, *pgView(e.Plan, k.view)) {
				// Dropped behind projector's back: made again here, empty,
				// it would pass for the view at the daemons' next start.
				unfit[k] = fmt.Errorf("table %s was deployed and is gone: projector rebuild %s --sinks postgres", name, k.view)
				continue
			}
		}
		if k.index != "" {
			// An index the registry recorded under another file's name
			// (recordedTarget): that one, not one under this file's.
			if err := e.createRecordedIndex(ctx, k); err != nil {
				return nil, fmt.Errorf("view %s generation %d: create the served index no daemon created: %w", k.view, k.gen, err)
			}
			continue
		}
		// An index that exists is left as it is (CreateIndices).
		if err := e.createTargets(ctx, k.view, k.gen, []string{k.store}); err != nil {
			return nil, fmt.Errorf("view %s generation %d: create the served targets no daemon created: %w", k.view, k.gen, err)
		}
	}
	return unfit, nil
}

// createRecordedIndex creates, when it is missing, the index k names,
// which the registry recorded under another file's name.
func (e *Env) createRecordedIndex(ctx context.Context, k targetKey) error {
	s, _, err := e.esTargetSink(k.view, k.gen, k.index)
	if err != nil {
		return err
	}
	defer s.Close()
	return s.CreateIndices(ctx)
}

// building reports the targets of the generation this run builds: its fill
// recomputes every document from the state after the sources were read
// again, so while reading them only deletions need writing there (the fill
// does not visit documents whose rows are gone). Redis keys are the live
// ones and get every change: a rebuild that stops before its fill must not
// leave them behind the state.
func (r *run) building(k targetKey) bool { return k.view == r.gen.View && k.gen == r.gen.Number }

// liveRoutes are the routes a daemon following snap writes to: the served
// generation of every view and store, the ones being built, and the Redis
// keys; targets deletesOnly names get only the deletions, and those skip
// names none (see ensureServed). The command line
// uses them when it applies changes to the state itself, so that every view
// stays as the daemons would keep it. release closes the sinks built for
// them.
func (e *Env) liveRoutes(snap registry.Snapshot, deletesOnly func(targetKey) bool, skip map[targetKey]error) (routes []projector.Route, release func(), err error) {
	var out []projector.Route
	if e.live != nil {
		var views []string
		for _, v := range e.Plan.Views {
			if slices.Contains(e.Stores(v.Name), registry.StoreRedis) {
				views = append(views, v.Name)
			}
		}
		out = append(out, projector.Route{Sink: e.live, Views: views})
	}
	keys := make([]targetKey, 0)
	for k := range e.wanted(snap) {
		if skip[k] == nil {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, targetKey.compare)
	var guards []*guard
	release = func() {
		for _, g := range guards {
			g.retire()
		}
	}
	for _, k := range keys {
		g, err := e.newGuard(k)
		if err != nil {
			release()
			return nil, nil, err
		}
		guards = append(guards, g)
		var sink projector.Sink = g
		if deletesOnly != nil && deletesOnly(k) {
			sink = deletions{g}
		}
		out = append(out, projector.Route{Sink: sink, Views: []string{k.view}})
	}
	return out, release, nil
}

// deletions passes only deleted documents on to its sink.
type deletions struct{ projector.Sink }

func (d deletions) Write(ctx context.Context, docs []sinks.Doc) error {
	var out []sinks.Doc
	var at []int
	for i := range docs {
		if docs[i].Deleted {
			out, at = append(out, docs[i]), append(at, i)
		}
	}
	if len(out) == 0 {
		return nil
	}
	err := d.Sink.Write(ctx, out)
	var be *sinks.BatchError
	if errors.As(err, &be) {
		// The engine retries by index into the docs it gave.
		failed := make(map[int]error, len(be.Failed))
		for i, e := range be.Failed {
			failed[at[i]] = e
		}
		return &sinks.BatchError{Failed: failed}
	}
	return err
}

// replayIdle is how long a replay waits for records before it asks whether
// the brokers answer, and, once they did, before it ends (see stall).
const replayIdle = 10 * time.Second

// warnRetention warns when a topic may keep records longer than the state
// keeps tombstones (state.tombstone_retention): the replay then applies a
// collected row's old changes again, and the row shows until its delete is
// replayed. Topics whose configuration cannot be read (no permission) are
// not checked.
func (r *run) warnRetention(ctx context.Context, adm *kadm.Client, topics []string) {
	keep := time.Duration(r.env.Config.State.TombstoneRetention)
	if keep == 0 {
		return
	}
	configs, err := adm.DescribeTopicConfigs(ctx, topics...)
	if err != nil {
		return
	}
	for _, rc := range configs {
		if rc.Err != nil {
			continue
		}
		settings := map[string]string{}
		for _, c := range rc.Configs {
			if c.Value != nil {
				settings[c.Key] = *c.Value
			}
		}
		lives, forever, known := recordLifetime(settings)
		if known && (forever || lives > keep) {
			what := "up to " + lives.String()
			if forever {
				what = "forever"
			}
			r.opts.Log.Warn("replay: the topic keeps records longer than the state keeps tombstones; a row deleted longer ago than state.tombstone_retention shows until its delete is replayed",
				"topic", rc.Name, "keeps_records", what, "tombstone_retention", keep)
		}
	}
}

// recordLifetime is how long a topic may keep a deleted row's records, from
// its settings. Deletion keeps one up to retention.ms + segment.ms (-1:
// forever). Compaction drops a deleted key's records once the cleaner has
// run, at the latest max.compaction.lag.ms after they were written (its
// default, Long.MAX_VALUE, sets no bound), and its tombstone
// delete.retention.ms later. With both policies the first to act bounds it.
func recordLifetime(settings map[string]string) (lives time.Duration, forever, known bool) {
	num := func(k string) (int64, bool) {
		n, err := strconv.ParseInt(settings[k], 10, 64)
		return n, err == nil
	}
	byDelete, byCompaction := keptForever, keptForever
	policy := settings["cleanup.policy"]
	if policy == "" || strings.Contains(policy, "delete") {
		retention, ok := num("retention.ms")
		if !ok {
			return 0, false, false
		}
		if retention >= 0 {
			segment, _ := num("segment.ms")
			byDelete = millis(retention, segment)
		}
	}
	if strings.Contains(policy, "compact") {
		if lag, ok := num("max.compaction.lag.ms"); ok {
			tomb, _ := num("delete.retention.ms")
			byCompaction = millis(lag, tomb)
		}
	}
	lives = min(byDelete, byCompaction)
	return lives, lives == keptForever, true
}

// keptForever is a lifetime no duration reaches: records kept for ever.
const keptForever = time.Duration(math.MaxInt64)

// millis is the sum of durations in milliseconds, or keptForever when it
// is longer than a time.Duration holds: Kafka takes any long, and
// Long.MAX_VALUE (max.compaction.lag.ms' default, or a retention.ms set to
// keep a topic for ever) is 292 million years, which nanoseconds cannot
// count. Each is checked before it is added, as the sum of two large ones
// would wrap round to a short lifetime. A negative one counts as 0.
func millis(ms ...int64) time.Duration {
	var total time.Duration
	for _, n := range ms {
		if n > int64(keptForever/time.Millisecond) {
			return keptForever
		}
		d := time.Duration(max(n, 0)) * time.Millisecond
		if d > keptForever-total {
			return keptForever
		}
		total += d
	}
	return total
}
