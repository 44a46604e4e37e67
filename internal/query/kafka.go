package query

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
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
	// backoff is how long a failed lookup makes later requests skip Kafka,
	// so an unreachable cluster costs a timeout once, not every request.
	backoff time.Duration

	ctx  context.Context // cancelled by close
	stop context.CancelFunc
	wg   sync.WaitGroup

	mu       sync.Mutex
	lookups  map[string]*lookup
	failedAt time.Time
}

type lookup struct {
	started time.Time
	done    chan struct{}
	ends    map[int32]int64
	err     error
}

func newOffsetCache(adm *kadm.Client, timeout time.Duration) *offsetCache {
	ctx, stop := context.WithCancel(context.Background())
	return &offsetCache{adm: adm, timeout: timeout, backoff: 5 * time.Second, ctx: ctx, stop: stop, lookups: map[string]*lookup{}}
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
	if c.failedRecently() {
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
		c.failed()
	}
}

func (c *offsetCache) failed() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failedAt = time.Now()
}

func (c *offsetCache) failedRecently() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.failedAt.IsZero() && time.Since(c.failedAt) < c.backoff
}

// endOffsets lists a topic's end offsets. A topic Kafka does not know yet
// is an error: its partitions are unknown.
func endOffsets(ctx context.Context, adm *kadm.Client, topics ...string) (map[int32]int64, error) {
	listed, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("kafka: list end offsets: %w", err)
	}
	out := map[int32]int64{}
	var ferr error
	listed.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			ferr = fmt.Errorf("kafka: %s[%d]: %w", o.Topic, o.Partition, o.Err)
			return
		}
		out[o.Partition] = o.Offset
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
// minus the start offset where nothing was projected).
func (s *Server) sourceLag(ctx context.Context) (lag map[string]int64, err error) {
	if s.adm == nil || s.offsets.failedRecently() {
		return nil, errNoKafka
	}
	defer func() {
		if err != nil {
			s.offsets.failed()
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, s.opts.KafkaTimeout)
	defer cancel()
	topics := make([]string, 0, len(s.plan.Sources))
	for _, src := range s.plan.Sources {
		topics = append(topics, src.Topic)
	}
	ends, err := s.adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("kafka: list end offsets: %w", err)
	}
	if err := ends.Error(); err != nil {
		return nil, fmt.Errorf("kafka: list end offsets: %w", err)
	}
	starts, err := s.adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("kafka: list start offsets: %w", err)
	}
	marks, err := readAllWatermarks(ctx, s)
	if err != nil {
		return nil, err
	}
	lag = map[string]int64{}
	for _, src := range s.plan.Sources {
		var n int64
		ends.Each(func(o kadm.ListedOffset) {
			if o.Topic != src.Topic {
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
		lag[src.Name] = n
	}
	return lag, nil
}

type partitionKey struct {
	topic     string
	partition int32
}
