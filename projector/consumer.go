package projector

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kslog"

	"github.com/projectorhq/projector/config"
)

// ConsumerOptions configure the Kafka side of `projector run`.
type ConsumerOptions struct {
	Brokers  []string
	Group    string
	ClientID string
	// BatchSize is the most records one poll takes, and so one batch;
	// default 10000, as config.DefaultBatchSize.
	BatchSize int
	// BatchBytes is the most bytes of record keys and values in one batch:
	// a poll is cut into consecutive batches under it, a record larger
	// than it being a batch of its own, since a batch's memory grows with
	// its bytes, several times over. Default config.DefaultBatchBytes
	// (16 MiB).
	BatchBytes int
	// DeadLetterTopic receives what cannot be decoded or projected.
	DeadLetterTopic string
	// StopOnError is errors.tolerance=none: a bad record stops the consumer
	// (without committing it) instead of going to the dead-letter topic.
	StopOnError bool
	// ShutdownTimeout bounds a graceful stop: past it, the batches not yet
	// written are abandoned, uncommitted (the next member consumes them
	// again), and Run returns nil. Default 20s, as config.DefaultShutdown.
	ShutdownTimeout time.Duration
	// LagRefresh is how long projector_consumer_lag may go without a fetch
	// before the brokers are asked for the partitions' ends. Default 10s.
	LagRefresh time.Duration
	// MetadataMaxAge is how often the brokers are asked for the topics'
	// partitions: a partition added to a topic is consumed at most that
	// late (franz-go's default, 5 minutes, left its records unread, and
	// the lag unseen, that long). Default 1 minute.
	MetadataMaxAge time.Duration
	Logger         *slog.Logger
	// Extra client options (tests: fetch sizes, auto topic creation).
	Extra []kgo.Opt
}

// Consumer runs an Engine over a consumer group: poll records, cut them
// into batches of at most BatchBytes, project each, then commit its
// offsets. Batches are pipelined: a batch is decoded while the one before
// it is applied to the state and the docs of the one before that are
// written to the sinks, and each batch's offsets are committed in order
// once every sink acknowledged it. Partitions keep their order; a
// rebalance waits until every batch polled is committed.
type Consumer struct {
	cl      *kgo.Client
	eng     *Engine
	opts    ConsumerOptions
	log     *slog.Logger
	recover atomic.Bool // partitions were assigned: recompute pending docs first
	joined  atomic.Bool
	// deadLetterLimit is the dead-letter topic's max.message.bytes, 0 until
	// read (see ensureDeadLetterTopic).
	deadLetterLimit atomic.Int64
	// rebalance is signalled when a rebalance waits for this member to
	// commit what it polled.
	rebalance chan struct{}
	lags      *lags
	// closing is what the revoke callback commits under once Run closes
	// the client (see Run); nil before.
	closing atomic.Pointer[context.Context]

	mu      sync.Mutex
	unacked []*kgo.Record // projected records whose offset commit failed
	// member is the group member ID the partitions were last assigned to
	// (see commit).
	member string
	owned  partitionSet // assigned, and neither revoked nor lost since (see assignedTo)
}

// NewConsumer connects a group member for the engine's topics.
func NewConsumer(eng *Engine, opts ConsumerOptions) (*Consumer, error) {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 10000
	}
	if opts.BatchBytes <= 0 {
		opts.BatchBytes = config.DefaultBatchBytes
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = defaultShutdownTimeout
	}
	if opts.LagRefresh <= 0 {
		opts.LagRefresh = defaultLagRefresh
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Consumer{eng: eng, opts: opts, log: opts.Logger, rebalance: make(chan struct{}, 1), lags: newLags(eng.metrics.lag)}
	kopts := []kgo.Opt{
		kgo.SeedBrokers(opts.Brokers...),
		kgo.ConsumerGroup(opts.Group),
		kgo.ConsumeTopics(eng.Topics()...),
		kgo.ClientID(opts.ClientID),
		kgo.DisableAutoCommit(),
		// No rebalance while a batch is in flight: its offsets are committed
		// before partitions move, so nothing is projected twice for nothing.
		kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.MetadataMaxAge(cmp.Or(opts.MetadataMaxAge, time.Minute)),
		kgo.MetadataMinAge(min(cmp.Or(opts.MetadataMaxAge, time.Minute), 5*time.Second)),
		// Committed records only (Kafka Connect with exactly-once source
		// support writes in transactions, some aborted), and their
		// markers, which move the watermarks on (see Record.Control).
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
		// A dead letter sent and never answered (a partitioned leader)
		// must not hold a stop for ever: by default the idempotent
		// producer waits for its outcome whatever its context says. A
		// dead letter cancelled so may be written twice, which they may
		// be anyway (at least once).
		kgo.AllowIdempotentProduceCancellation(),
		// A dead letter is as large as the topic takes (deadLetters sends
		// no more at once): a source topic may take records over Kafka's
		// 1 MB default, and its dead letters should keep them whole.
		kgo.ProducerBatchMaxBytes(maxDeadLetterBatch),
		kgo.WithLogger(kslog.New(kafkaLogger(opts.Logger))),
		kgo.OnPartitionsAssigned(func(ctx context.Context, cl *kgo.Client, assigned map[string][]int32) {
			c.assignedTo(ctx, cl, assigned)
			c.checkWatermarks(ctx, cl, assigned)
			c.lags.assigned(assigned)
			c.recover.Store(true)
			c.joined.Store(true)
		}),
		kgo.OnPartitionsRevoked(func(ctx context.Context, _ *kgo.Client, revoked map[string][]int32) {
			// Every projected batch was committed before the poll that lets
			// this rebalance run; only a commit that failed is left to retry,
			// once: after this the partitions are another member's, whose
			// commits a late one of ours would move back (commit refuses it
			// when this member was replaced in the group meanwhile). Records
			// polled but not projected are never committed.
			if closing := c.closing.Load(); closing != nil {
				ctx = *closing
			}
			c.commit(ctx, nil)
			c.forget(revoked)
			c.lags.forget(revoked) // another member exports their lag now
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
			c.forget(lost) // no longer ours: no commit for them
			c.lags.forget(lost)
			// The group session is gone (the member was fenced or cannot
			// reach the coordinator): not a working member until assigned
			// partitions again.
			c.joined.Store(false)
		}),
		kgo.OnPartitionsCallbackBlocked(func(context.Context, *kgo.Client) {
			select {
			case c.rebalance <- struct{}{}:
			default:
			}
		}),
	}
	kopts = append(kopts, opts.Extra...)
	cl, err := kgo.NewClient(kopts...)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	c.cl = cl
	return c, nil
}

// Joined reports whether the consumer has been assigned partitions and has
// not lost them since.
func (c *Consumer) Joined() bool { return c.joined.Load() }

// Run consumes until stop is closed (graceful: the batches in flight are
// finished, flushed and committed, then the member leaves the group) or
// ctx ends (hard: nothing more is committed; what was not committed is
// consumed again by the next member). A graceful stop that cannot finish
// within ShutdownTimeout (a store is down) abandons the batches not yet
// written, commits none of them, leaves the group and returns nil.
//
// Batches go through three stages at once: the newest is decoded (here)
// while the one before is applied to the state and the one before that is
// written to the sinks and committed. A batch enters a stage only once the
// batch ahead of it has left it, so each stage takes the batches in order
// and offsets are committed in order.
// leaveTime is the least time Run gives the member to leave the group
// after a graceful stop: a leave answered takes milliseconds, and the time
// stays within Kubernetes' grace period past the default
// kafka.shutdown_timeout.
const leaveTime = 5 * time.Second

func (c *Consumer) Run(ctx context.Context, stop <-chan struct{}) error {
	var stopped atomic.Pointer[time.Time]
	defer func() {
		// Leaving the group revokes the partitions, whose callback retries
		// a commit that failed, then asks the coordinator to let the member
		// go. A coordinator that does not answer would hold the exit for
		// the client's retries and timeouts (about 30 s): both get what is
		// left of kafka.shutdown_timeout after the stop, but at least
		// leaveTime (a drain that used all of it must still let the
		// partitions go, or its successor waits for the session to time
		// out), and nothing after a hard stop (ctx ended); the group then
		// drops the member when its session times out.
		left := c.opts.ShutdownTimeout
		if at := stopped.Load(); at != nil {
			left -= time.Since(*at)
		}
		closing, cancel := context.WithTimeout(ctx, max(left, leaveTime))
		defer cancel()
		c.closing.Store(&closing)
		c.cl.AllowRebalance()
		// Close waits for the leave whatever its context says: it goes on
		// without Run, which returns when the time is up.
		closed := make(chan struct{})
		go func() {
			defer close(closed)
			_ = c.cl.LeaveGroupContext(closing)
			c.cl.Close()
		}()
		select {
		case <-closed:
		case <-closing.Done():
			c.log.Warn("stopped without waiting for the group coordinator to let this member go; the group drops it when its session times out")
		}
	}()
	var watchers sync.WaitGroup
	defer watchers.Wait() // after the contexts below are cancelled
	pollCtx, cancelPoll := context.WithCancel(ctx)
	defer cancelPoll()
	// work is what the batches are finished under: ctx, and at most
	// ShutdownTimeout once stopped.
	work, cancelWork := context.WithCancelCause(ctx)
	defer cancelWork(nil)
	watchers.Go(func() {
		select {
		case <-stop:
			now := time.Now()
			stopped.Store(&now)
			cancelPoll()
		case <-pollCtx.Done():
			return
		}
		t := time.NewTimer(c.opts.ShutdownTimeout)
		defer t.Stop()
		select {
		case <-t.C:
			cancelWork(errShutdownTimeout)
		case <-work.Done():
		}
	})
	watchers.Go(func() { c.watchLag(pollCtx) })
	err := c.consume(work, pollCtx)
	if err != nil && ctx.Err() == nil && errors.Is(context.Cause(work), errShutdownTimeout) && abandoned(err) {
		c.log.Warn("the graceful stop timed out: the batches not yet written are not committed, and their records will be consumed again",
			"shutdown_timeout", c.opts.ShutdownTimeout)
		return nil
	}
	return err
}

// consume is Run's loop: ctx is the batches' context, pollCtx ends with a
// stop.
func (c *Consumer) consume(ctx, pollCtx context.Context) error {
	c.ensureDeadLetterTopic(pollCtx) // a stop need not wait for brokers that do not answer
	if err := c.recoverPending(ctx); err != nil {
		return err
	}
	p := &pipeline{}
	defer func() { _ = p.wait() }() // on a hard stop: let the stages see ctx end
	fetchErrs := newFetchErrors(c.log)
	for {
		if err := c.promote(ctx, p, false); err != nil {
			return errors.Join(err, p.wait())
		}
		fetches := c.poll(pollCtx, p.wake())
		if fetches.IsClientClosed() || ctx.Err() != nil {
			return context.Cause(ctx)
		}
		c.lags.fetched(fetches)
		var recreated []string
		failed := false
		fetches.EachError(func(t string, p int32, err error) {
			switch {
			case errors.Is(err, context.Canceled):
			case errors.Is(err, kerr.UnknownTopicID):
				if !slices.Contains(recreated, t) {
					recreated = append(recreated, t)
				}
			default:
				failed = true
				fetchErrs.failed(t, p, err)
			}
		})
		fetchErrs.report(fetches) // each error once while it lasts, not every poll
		recs := fetches.Records()
		if len(recreated) > 0 {
			if err := c.consumeAgain(ctx, p, recreated); err != nil {
				return errors.Join(err, p.wait())
			}
			// The poll's records of the other topics go on: the client has
			// moved past them. The rebalance consumeAgain may start waits
			// for them to be committed (drain, below).
			recs = slices.DeleteFunc(recs, func(r *kgo.Record) bool { return slices.Contains(recreated, r.Topic) })
		}
		if failed && len(recs) == 0 {
			// The client retries on its own; polling again at once would
			// only log the same error in a tight loop.
			select {
			case <-pollCtx.Done():
			case <-time.After(time.Second):
			}
		}
		c.log.Debug("polled", "records", len(recs))
		// The poll goes through the pipeline in batches of at most
		// BatchBytes, each as a poll of its own would, but for rebalances:
		// they wait until the whole poll is committed, since the client
		// has moved past all of it.
		drain := false
		for i, batch := range byBytes(recs, c.opts.BatchBytes) {
			if i > 0 {
				if ctx.Err() != nil {
					return context.Cause(ctx)
				}
				if drain {
					if err := c.drain(ctx, p); err != nil {
						return err
					}
				} else if err := c.promote(ctx, p, false); err != nil {
					return errors.Join(err, p.wait())
				}
				if pollCtx.Err() != nil {
					// Stopped: the rest of the poll is not committed, the
					// next member reads it again.
					break
				}
			}
			var err error
			if drain, err = c.prepare(ctx, pollCtx, p, batch); err != nil {
				return errors.Join(err, p.wait())
			}
			// Stopping on a bad record (errors.tolerance: none), no batch
			// is applied before the one ahead is written: its dead letters
			// (a patch of a row the state lacks) and refusals are known
			// only then, and the stores must not reflect records after it.
			drain = drain || c.opts.StopOnError
		}
		select {
		case <-c.rebalance:
			drain = true
		default:
		}
		drain = drain || len(recreated) > 0
		stopped := pollCtx.Err() != nil
		if drain || stopped || p.idle() {
			if err := c.drain(ctx, p); err != nil {
				return err
			}
			c.cl.AllowRebalance()
		}
		if stopped {
			return nil // stopped: everything applied is written and committed
		}
	}
}

// prepare decodes a batch, then sets it to be applied to the state as the
// batch ahead goes on to be written. dead reports that it holds dead
// letters: they go out, or stop the consumer, before another batch is
// applied. Stopped while the schema registry is out, the batch is left
// out, uncommitted: the next member reads it again.
func (c *Consumer) prepare(ctx, pollCtx context.Context, p *pipeline, recs []*kgo.Record) (dead bool, err error) {
	d, err := c.decode(ctx, pollCtx, p, recs)
	switch {
	case err == nil:
	case ctx.Err() == nil && pollCtx.Err() != nil:
		return false, nil
	default:
		return false, err
	}
	if c.opts.StopOnError && len(d.Dead) > 0 {
		// errors.tolerance none: no store may reflect a record after the
		// one the consumer stops on. The batch is cut before it: those
		// records are applied and written, then the stop (toleranceNone)
		// comes, on the bad record alone.
		first := d.Dead[0]
		cut := max(0, slices.IndexFunc(recs, func(r *kgo.Record) bool {
			return r.Topic == first.Record.Topic && r.Partition == first.Record.Partition && r.Offset == first.Record.Offset
		}))
		recs = recs[:cut]
		if d, err = c.decode(ctx, pollCtx, p, recs); err != nil {
			return false, err
		}
		d.Dead = []DeadLetter{first}
	}
	// The batch ahead goes on to be written, this one to be applied.
	if err := c.promote(ctx, p, true); err != nil {
		return false, err
	}
	p.projecting = c.project(ctx, offsetsOf(recs), d)
	return len(d.Dead) > 0, nil
}

// drain writes and commits every batch in flight, and what failed to commit
// before, if anything.
func (c *Consumer) drain(ctx context.Context, p *pipeline) error {
	if err := c.promote(ctx, p, true); err != nil {
		return errors.Join(err, p.wait())
	}
	if err := p.wait(); err != nil {
		return err
	}
	c.commit(ctx, nil)
	return nil
}

// poll waits for the next records. While batches are in flight it also
// returns, with none, once the one holding up the pipeline is done (wake)
// or a rebalance waits, so that the next batch moves on or the rebalance
// is allowed instead of waiting for records that may not come; while a
// commit failed it returns after a second, so that the commit is tried
// again.
func (c *Consumer) poll(ctx context.Context, wake <-chan struct{}) kgo.Fetches {
	var retry <-chan time.Time
	if c.hasUnacked() {
		t := time.NewTimer(time.Second)
		defer t.Stop()
		retry = t.C
	}
	if wake == nil && retry == nil {
		return c.cl.PollRecords(ctx, c.opts.BatchSize)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-wake:
		case <-retry:
		case <-c.rebalance:
			// Signal it again for the loop, which checks after the poll.
			select {
			case c.rebalance <- struct{}{}:
			default:
			}
		case <-ctx.Done():
		}
		cancel()
	}()
	return c.cl.PollRecords(ctx, c.opts.BatchSize)
}

// retry runs fn until it succeeds or ctx ends, with capped exponential
// backoff: an outage of the query PostgreSQL or a sink pauses consumption.
func (c *Consumer) retry(ctx context.Context, what string, fn func(context.Context) error) error {
	wait := 100 * time.Millisecond
	for {
		err := fn(ctx)
		if err == nil {
			c.eng.health.report("state", what, nil)
			c.eng.health.report("engine", what, nil)
			return nil
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if errors.As(err, new(halt)) {
			return err
		}
		// The query PostgreSQL (state, revisions) is named as such in
		// /readyz; a sink names itself when its write fails.
		if errors.Is(err, ErrState) {
			c.eng.health.report("state", what, err)
		} else {
			c.eng.health.report("engine", what, err)
		}
		c.log.Warn(what+" failed; retrying", "retry_in", wait, "err", err)
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(wait):
		}
		wait = min(2*wait, c.eng.backoff)
	}
}

// ensureDeadLetterTopic creates the dead-letter topic when it is missing:
// brokers commonly disable automatic topic creation, and the first bad
// record is the wrong moment to find out. A failure (say, no permission)
// is logged; producing may still work where the topic is managed elsewhere.
func (c *Consumer) ensureDeadLetterTopic(ctx context.Context) {
	if c.opts.DeadLetterTopic == "" || c.opts.StopOnError {
		return
	}
	adm := kadm.NewClient(c.cl)
	resp, err := adm.CreateTopic(ctx, 1, -1, nil, c.opts.DeadLetterTopic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		c.log.Warn("could not create the dead-letter topic", "topic", c.opts.DeadLetterTopic, "err", err)
	}
	// What the topic takes: an operator may have created it to take as
	// much as the source topics do. Unread (no right to describe
	// configs), Kafka's default is assumed, and a topic that takes less
	// refuses what is over it (see shrink).
	configs, err := adm.DescribeTopicConfigs(ctx, c.opts.DeadLetterTopic)
	if err != nil {
		return
	}
	if rc, err := configs.On(c.opts.DeadLetterTopic, nil); err == nil && rc.Err == nil {
		for _, cfg := range rc.Configs {
			if n, err := strconv.Atoi(cfg.MaybeValue()); cfg.Key == "max.message.bytes" && err == nil && n > 0 {
				c.deadLetterLimit.Store(int64(min(n, maxDeadLetterBatch)))
			}
		}
	}
}

// halt is an error the consumer stops on rather than retries.
type halt struct{ error }

func (h halt) Unwrap() error { return h.error }

// toleranceNone is why errors.tolerance: none stops at a batch: its first
// dead letter or refused doc; nil when it has neither.
func toleranceNone(b *Batch) error {
	if len(b.Dead) > 0 {
		d := b.Dead[0]
		return halt{fmt.Errorf("%s[%d]@%d: %w (errors.tolerance is none)", d.Record.Topic, d.Record.Partition, d.Record.Offset, d.Err)}
	}
	if len(b.Refused) > 0 {
		r := b.Refused[0]
		return halt{fmt.Errorf("%s sink refused doc %q of view %s: %w (errors.tolerance is none)", r.Sink, r.Doc.ID, r.Doc.View, r.Err)}
	}
	return nil
}
