package query

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/projectorhq/projector/internal/kafkautil"
)

// errNoKafka: no brokers are configured, or Kafka failed recently.
var errNoKafka = errors.New("kafka not available")

// offsetCache asks Kafka for topics' end offsets on behalf of many
// requests: a request needs offsets taken no earlier than its arrival, so
// a lookup that started after it arrived serves it, and concurrent
// requests share one round trip instead of one each.
type offsetCache struct {
	adm     *kadm.Client // nil without Kafka
	timeout time.Duration
	// failures makes requests skip Kafka for a topic whose lookup failed
	// recently, so an unreachable cluster costs a timeout once, not every
	// request. Per topic: a topic Debezium has not created yet must not
	// stop the caught-up test of the others.
	failures *backoff

	ctx  context.Context // cancelled by close
	stop context.CancelFunc
	wg   sync.WaitGroup

	mu      sync.Mutex
	lookups map[string]*lookup
}

type lookup struct {
	started time.Time
	done    chan struct{}
	ends    map[int32]int64
	err     error
}

func newOffsetCache(adm *kadm.Client, timeout time.Duration) *offsetCache {
	ctx, stop := context.WithCancel(context.Background())
	return &offsetCache{adm: adm, timeout: timeout, failures: newBackoff(kafkaBackoff), ctx: ctx, stop: stop, lookups: map[string]*lookup{}}
}

func (c *offsetCache) close() {
	c.stop()
	c.wg.Wait()
}

// get returns the end offset of each partition of topic, as of no earlier
// than since.
func (c *offsetCache) get(ctx context.Context, topic string, since time.Time) (map[int32]int64, error) {
	if c.adm == nil {
		return nil, errNoKafka
	}
	if c.failures.recent(topic) {
		return nil, errNoKafka
	}
	c.mu.Lock()
	l := c.lookups[topic]
	if l == nil || l.started.Before(since) {
		l = &lookup{started: time.Now(), done: make(chan struct{})}
		c.lookups[topic] = l
		c.wg.Add(1)
		go c.fetch(l, topic)
	}
	c.mu.Unlock()
	select {
	case <-l.done:
		return l.ends, l.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// fetch runs one lookup with the cache's own deadline, not a request's:
// other requests may be waiting for it.
func (c *offsetCache) fetch(l *lookup, topic string) {
	defer c.wg.Done()
	defer close(l.done)
	ctx, cancel := context.WithTimeout(c.ctx, c.timeout)
	defer cancel()
	l.ends, l.err = endOffsets(ctx, c.adm, topic)
	if l.err != nil {
		c.failures.failed(topic)
	}
}

// kafkaBackoff is how long a failed lookup makes later requests skip it.
const kafkaBackoff = 5 * time.Second

// backoff remembers recent failures by key, so that callers skip what just
// failed instead of paying its timeout again.
type backoff struct {
	period time.Duration
	mu     sync.Mutex
	at     map[string]time.Time
}

func newBackoff(period time.Duration) *backoff {
	return &backoff{period: period, at: map[string]time.Time{}}
}

func (b *backoff) failed(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.at[key] = time.Now()
}

func (b *backoff) recent(key string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	at, ok := b.at[key]
	if ok && time.Since(at) >= b.period {
		delete(b.at, key)
		ok = false
	}
	return ok
}

// endOffsets lists a topic's end offsets; a partition that holds no record
// (its start offset is its end: retention or a deletion took them all) has
// nothing to project, and counts as 0, as a partition never written to. A
// topic Kafka does not know yet is an error: its partitions are unknown.
func endOffsets(ctx context.Context, adm *kadm.Client, topics ...string) (map[int32]int64, error) {
	listed, err := adm.ListEndOffsets(ctx, topics...) // high watermarks: a transaction still open is not caught up
	if err != nil {
		return nil, fmt.Errorf("kafka: list end offsets: %w", err)
	}
	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("kafka: list start offsets: %w", err)
	}
	out := map[int32]int64{}
	var ferr error
	listed.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			ferr = fmt.Errorf("kafka: %s[%d]: %w", o.Topic, o.Partition, o.Err)
			return
		}
		out[o.Partition] = o.Offset
		if st, ok := starts.Lookup(o.Topic, o.Partition); ok && st.Err == nil && st.Offset >= o.Offset {
			out[o.Partition] = 0
		}
	})
	if ferr != nil {
		return nil, ferr
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("kafka: topic %s has no partitions (not created yet?)", topics[0])
	}
	return out, nil
}

// sourceLag is how many records of each source's topic are not projected
// yet: per partition, the end offset minus the watermark's offset (or
// minus the start offset where nothing was projected). A topic Kafka does
// not know yet holds nothing to project: lag 0. Its failures back off only
// the lag lookup (lagFailures): read-your-writes waits keep asking Kafka.
func (s *Server) sourceLag(ctx context.Context) (lag map[string]int64, err error) {
	if s.adm == nil || s.lagFailures.recent("") {
		return nil, errNoKafka
	}
	topics := make([]string, 0, len(s.plan.Sources))
	for _, src := range s.plan.Sources {
		topics = append(topics, src.Topic)
	}
	ends, starts, err := s.topicOffsets(ctx, topics)
	if err != nil {
		s.lagFailures.failed("")
		return nil, err
	}
	marks, err := readAllWatermarks(ctx, s)
	if err != nil {
		return nil, err
	}
	lag = map[string]int64{}
	for _, src := range s.plan.Sources {
		lag[src.Name] = topicLag(ends, starts, marks, src.Topic)
	}
	return lag, nil
}

// topicOffsets lists the end and start offsets of topics.
func (s *Server) topicOffsets(ctx context.Context, topics []string) (ends, starts kadm.ListedOffsets, err error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.KafkaTimeout)
	defer cancel()
	ends, err = s.adm.ListEndOffsets(ctx, topics...) // high watermarks: a transaction still open is not caught up
	if err == nil {
		err = knownTopicsError(ends)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("kafka: list end offsets: %w", err)
	}
	starts, err = s.adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return nil, nil, fmt.Errorf("kafka: list start offsets: %w", err)
	}
	return ends, starts, nil
}

// knownTopicsError is the first failure among the listed offsets of topics
// Kafka knows: an unknown topic is not a failure.
func knownTopicsError(listed kadm.ListedOffsets) error {
	var first error
	listed.Each(func(o kadm.ListedOffset) {
		if first == nil && o.Err != nil && !errors.Is(o.Err, kerr.UnknownTopicOrPartition) {
			first = fmt.Errorf("%s[%d]: %w", o.Topic, o.Partition, o.Err)
		}
	})
	return first
}

// topicLag sums a topic's partitions' unprojected records; partitions
// without an end offset (unknown topic) count none.
func topicLag(ends, starts kadm.ListedOffsets, marks map[partitionKey]int64, topic string) int64 {
	var n int64
	ends.Each(func(o kadm.ListedOffset) {
		if o.Topic != topic || o.Err != nil {
			return
		}
		from := int64(0)
		if st, ok := starts.Lookup(o.Topic, o.Partition); ok && st.Err == nil {
			from = st.Offset
		}
		if w, ok := marks[partitionKey{o.Topic, o.Partition}]; ok {
			from = max(from, w)
		}
		n += max(0, o.Offset-from)
	})
	return n
}

type partitionKey struct {
	topic     string
	partition int32
}

// kafkaCause is why a lookup failed: its error, with the client's last
// connection failure when the error alone does not say (a timeout, or a
// lookup skipped because one failed just before).
func (s *Server) kafkaCause(err error) error {
	if errors.Is(err, errNoKafka) || errors.Is(err, context.DeadlineExceeded) {
		return s.kafkaHealth.Explain(err)
	}
	return kafkautil.Explain(err)
}

// atLevel is a handler that logs every record at one level.
type atLevel struct {
	h     slog.Handler
	level slog.Level
}

func (a atLevel) Enabled(ctx context.Context, _ slog.Level) bool { return a.h.Enabled(ctx, a.level) }

func (a atLevel) Handle(ctx context.Context, r slog.Record) error {
	r.Level = a.level
	return a.h.Handle(ctx, r)
}

func (a atLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return atLevel{a.h.WithAttrs(attrs), a.level}
}

func (a atLevel) WithGroup(name string) slog.Handler { return atLevel{a.h.WithGroup(name), a.level} }
