package rebuild

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/internal/rebuild/registry"
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
func (r *run) replay(ctx context.Context) error {
	topics := viewTopics(r.env.Plan.View(r.gen.View))
	opts := append([]kgo.Opt{kgo.SeedBrokers(r.env.Config.Kafka.Brokers...), kgo.ClientID("projector-rebuild")}, r.opts.Kafka...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("replay: kafka client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	r.warnRetention(ctx, adm, topics)
	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return fmt.Errorf("replay: start offsets of %v: %w", topics, err)
	}
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return fmt.Errorf("replay: end offsets of %v: %w", topics, err)
	}
	type tp struct {
		topic     string
		partition int32
	}
	end := map[tp]int64{}
	from := map[string]map[int32]kgo.Offset{}
	var total int64
	starts.Each(func(s kadm.ListedOffset) {
		e, ok := ends.Lookup(s.Topic, s.Partition)
		if !ok || e.Offset <= s.Offset {
			return
		}
		end[tp{s.Topic, s.Partition}] = e.Offset
		if from[s.Topic] == nil {
			from[s.Topic] = map[int32]kgo.Offset{}
		}
		from[s.Topic][s.Partition] = kgo.NewOffset().At(s.Offset)
		total += e.Offset - s.Offset
	})
	if len(end) == 0 {
		return nil
	}
	release, err := r.useLiveRoutes(ctx)
	if err != nil {
		return err
	}
	defer release()
	cl.AddConsumePartitions(from)
	r.opts.Progress.Phase("replay", total)
	defer r.opts.Progress.Done()
	progress := time.Now()
	for len(end) > 0 {
		// Records stop before the end offset when the log ends in
		// transaction markers: the replay ends once no partition it still
		// waits for has brought a record below its end for ReplayIdle (live
		// records past the end, here or elsewhere, do not count).
		if time.Since(progress) > r.opts.ReplayIdle {
			r.opts.Log.Warn("replay: no more records before the end offsets (transaction markers?)", "partitions_left", len(end))
			return nil
		}
		pctx, cancel := context.WithTimeout(ctx, r.opts.ReplayIdle)
		fetches := cl.PollRecords(pctx, 5000)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var errs []error
		fetches.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				errs = append(errs, fmt.Errorf("%s/%d: %w", t, p, err))
			}
		})
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		var recs []projector.Record
		fetches.EachRecord(func(rec *kgo.Record) {
			k := tp{rec.Topic, rec.Partition}
			e, ok := end[k]
			if !ok {
				return // a partition replayed to its end already
			}
			if rec.Offset >= e {
				delete(end, k) // past the end taken at the start (a marker before it): the daemons have it
				return
			}
			progress = time.Now()
			recs = append(recs, projector.Record{Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset, Key: rec.Key, Value: rec.Value})
			if rec.Offset+1 >= e {
				delete(end, k)
			}
		})
		if len(recs) == 0 {
			continue
		}
		dead, err := r.env.Engine.Process(ctx, recs)
		if err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		for _, d := range dead {
			r.res.DeadLetters++
			if r.res.DeadLetters <= 3 {
				r.opts.Log.Warn("replay: record not projected", "topic", d.Record.Topic, "partition", d.Record.Partition, "offset", d.Record.Offset, "err", d.Err)
			}
		}
		r.res.Replayed += int64(len(recs))
		r.opts.Progress.Add(int64(len(recs)))
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
	routes, release, err := r.env.liveRoutes(snap, r.building)
	if err != nil {
		return nil, err
	}
	r.env.Engine.SetRoutes(routes)
	return release, nil
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
// keys; targets deletesOnly names get only the deletions. The command line
// uses them when it applies changes to the state itself, so that every view
// stays as the daemons would keep it. release closes the sinks built for
// them.
func (e *Env) liveRoutes(snap registry.Snapshot, deletesOnly func(targetKey) bool) (routes []projector.Route, release func(), err error) {
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
		keys = append(keys, k)
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

// replayIdle is how long a replay waits for records before it ends.
const replayIdle = 10 * time.Second

// warnRetention warns when a topic may keep records longer than the state
// keeps tombstones (state.tombstone_retention): the replay then applies a
// collected row's old changes again, and the row shows until its delete is
// replayed. A topic's record lives up to retention.ms + segment.ms; -1
// keeps them forever. Topics whose configuration cannot be read (no
// permission) are not checked.
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
		ms := map[string]int64{}
		for _, c := range rc.Configs {
			if c.Value != nil {
				if v, err := strconv.ParseInt(*c.Value, 10, 64); err == nil {
					ms[c.Key] = v
				}
			}
		}
		retention, ok := ms["retention.ms"]
		if !ok {
			continue
		}
		lives := time.Duration(retention+ms["segment.ms"]) * time.Millisecond
		if retention < 0 || lives > keep {
			what := "up to " + lives.String()
			if retention < 0 {
				what = "forever"
			}
			r.opts.Log.Warn("replay: the topic keeps records longer than the state keeps tombstones; a row deleted longer ago than state.tombstone_retention shows until its delete is replayed",
				"topic", rc.Name, "keeps_records", what, "tombstone_retention", keep)
		}
	}
}
