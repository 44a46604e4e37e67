package projector

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// defaultLagRefresh is how long projector_consumer_lag may go without a
// fetch before the consumer asks the brokers for the partitions' ends.
const defaultLagRefresh = 10 * time.Second

// lags keeps projector_consumer_lag{topic,partition} for the partitions
// this member owns: the records between the member's committed position
// and the partition's end (its last stable offset: the consumer reads
// committed records only). The end comes with every fetch, or from the
// brokers while no fetch gives it (the consumer waits on a store that is
// down, or its fetches fail), and the committed position moves with each
// commit, and back with the consumer when its position is reset, but never
// before the log's start (records retention deleted are not consumed):
// while the consumer is stalled the lag grows with every record produced,
// and while it replays it counts the records replayed. A partition's
// series is deleted once the partition is no longer owned.
type lags struct {
	gauge *prometheus.GaugeVec

	mu    sync.Mutex
	parts map[topicPartition]*partitionLag
}

type partitionLag struct {
	end  int64 // the partition's end; -1 while not known
	next int64 // the committed position: the next offset to consume; -1 while not known
	// polled is one past the last record fetched, the client's position;
	// -1 while no fetch brought records.
	polled int64
	// superseded is, after the client went back, the position it went
	// back from while records fetched before are still to be committed:
	// their commits say nothing of the replay's position. 0 when none.
	superseded int64
	// fetchedAt is when a fetch last gave the partition's end; zero while
	// none did. A fetch that fails (the topic's Read ACL removed) gives
	// none: the end is then the brokers' (see stale).
	fetchedAt time.Time
	gauge     prometheus.Gauge
}

func newLags(gauge *prometheus.GaugeVec) *lags {
	return &lags{gauge: gauge, parts: map[topicPartition]*partitionLag{}}
}

// set updates the partition's series (creating it on first use).
func (l *lags) set(tp topicPartition, p *partitionLag) {
	if p.end < 0 || p.next < 0 {
		return
	}
	if p.gauge == nil {
		p.gauge = l.gauge.WithLabelValues(tp.topic, strconv.Itoa(int(tp.partition)))
	}
	p.gauge.Set(float64(max(0, p.end-p.next)))
}

// fetched takes the ends of the fetched partitions. A partition seen for
// the first time since it was assigned starts at its first record: the
// member consumes from the committed position; so does one whose records
// go back (see polledFrom).
func (l *lags) fetched(fetches kgo.Fetches) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	fetches.EachPartition(func(f kgo.FetchTopicPartition) {
		// Read committed, a partition ends at its last stable offset
		// (which a broker that does not know it gives as -1).
		end := f.LastStableOffset
		if end < 0 {
			end = f.HighWatermark
		}
		tp := topicPartition{f.Topic, f.Partition}
		p := l.parts[tp]
		if p == nil {
			if len(f.Records) == 0 || f.Topic == "" {
				// Not assigned as far as the lag knows, and telling
				// nothing: a partition is tracked from its assignment.
				return
			}
			p = newPartitionLag()
			l.parts[tp] = p
		}
		if n := len(f.Records); n > 0 && p.polledFrom(f.Records[0].Offset, f.Records[n-1].Offset+1) && end >= 0 {
			p.end = end // the end now, lower if the brokers lost records
		}
		if end >= 0 {
			p.end = max(p.end, end)
			p.fetchedAt = now
		}
		l.set(tp, p)
	})
}

func newPartitionLag() *partitionLag {
	return &partitionLag{end: -1, next: -1, polled: -1}
}

// polledFrom moves the client's position past records from..to, and
// reports whether the client went back: its records start before what
// was fetched or committed already. The client resets its position so
// when a broker lost records (to the log's start, ConsumeResetOffset),
// and the partition is consumed again from there: that is the committed
// position the lag counts from until the replay's commits move it on.
func (p *partitionLag) polledFrom(from, to int64) (back bool) {
	back = p.next >= 0 && (from < p.next || from < p.polled)
	switch {
	case p.next < 0:
		p.next = from // the first records since the assignment
	case back:
		if p.next < p.polled {
			p.superseded = p.polled
		}
		p.next = from
	}
	p.polled = to
	return back
}

// assigned tracks partitions this member now owns, their committed
// position not known yet: a partition no fetch brings records of (caught
// up, idle) gets it from the brokers (see watchLag).
func (l *lags) assigned(parts map[string][]int32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for topic, ps := range parts {
		for _, p := range ps {
			if tp := (topicPartition{topic, p}); l.parts[tp] == nil {
				l.parts[tp] = newPartitionLag()
			}
		}
	}
}

// unpositioned lists the topics of partitions whose committed position is
// not known.
func (l *lags) unpositioned() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for tp, p := range l.parts {
		if p.next < 0 && !slices.Contains(out, tp.topic) {
			out = append(out, tp.topic)
		}
	}
	return out
}

// positioned takes the committed positions of partitions that had none
// known: the group's commit, or the log's start where the group has none
// (the member consumes from the earliest record) or where retention
// deleted the records past the commit (the client resets there, see
// started).
func (l *lags) positioned(commits kadm.OffsetResponses, starts kadm.ListedOffsets) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for tp, p := range l.parts {
		if p.next >= 0 {
			continue
		}
		if c, ok := commits.Lookup(tp.topic, tp.partition); ok && c.Err == nil && c.At >= 0 {
			p.next = c.At
		}
		if s, ok := starts[tp.topic][tp.partition]; ok && s.Err == nil && s.Offset >= 0 {
			p.next = max(p.next, s.Offset)
		}
		l.set(tp, p)
	}
}

// started takes the partitions' starts the brokers gave: the records
// before a partition's start are gone (retention, DeleteRecords), and a
// committed position before it is one the client resets to the start
// (ConsumeResetOffset) with nothing to consume in between. The lag
// counts no record that no longer exists.
func (l *lags) started(starts kadm.ListedOffsets) {
	l.mu.Lock()
	defer l.mu.Unlock()
	starts.Each(func(o kadm.ListedOffset) {
		tp := topicPartition{o.Topic, o.Partition}
		if p := l.parts[tp]; p != nil && o.Err == nil && p.next >= 0 && o.Offset > p.next {
			p.next = o.Offset
			l.set(tp, p)
		}
	})
}

// committed moves the committed position of owned partitions past recs,
// which come in the order they were polled. After the client went back
// (see polledFrom), the commits of records polled before are passed over,
// up to the last of them.
func (l *lags) committed(recs []*kgo.Record) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range recs {
		tp := topicPartition{r.Topic, r.Partition}
		p := l.parts[tp]
		switch {
		case p == nil:
		case p.superseded > 0:
			if r.Offset+1 >= p.superseded {
				p.superseded = 0
			}
		case r.Offset+1 > p.next:
			p.next = r.Offset + 1
			l.set(tp, p)
		}
	}
}

// listed takes the partitions' ends the brokers gave.
func (l *lags) listed(ends kadm.ListedOffsets) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ends.Each(func(o kadm.ListedOffset) {
		tp := topicPartition{o.Topic, o.Partition}
		if p := l.parts[tp]; p != nil && o.Err == nil && o.Offset > p.end {
			p.end = o.Offset
			l.set(tp, p)
		}
	})
}

// stale lists the topics of partitions whose end no fetch gave for as
// long as every: caught up (a fetch without records is not polled), held
// up by a store that is down (no poll), or failing (a fetch error gives no
// end).
func (l *lags) stale(every time.Duration) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for tp, p := range l.parts {
		if time.Since(p.fetchedAt) >= every && !slices.Contains(out, tp.topic) {
			out = append(out, tp.topic)
		}
	}
	return out
}

// forget drops the partitions no longer owned, and their series.
func (l *lags) forget(parts map[string][]int32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for topic, ps := range parts {
		for _, p := range ps {
			l.drop(topicPartition{topic, p})
		}
	}
}

// forgetTopics drops every partition of topics (deleted and created
// again: their offsets start over).
func (l *lags) forgetTopics(topics []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for tp := range l.parts {
		if slices.Contains(topics, tp.topic) {
			l.drop(tp)
		}
	}
}

func (l *lags) drop(tp topicPartition) {
	delete(l.parts, tp)
	l.gauge.DeleteLabelValues(tp.topic, strconv.Itoa(int(tp.partition)))
}

// watchLag asks the brokers for the ends of the owned partitions no fetch
// gave for a while: a consumer held up by a store that is down polls no
// more, and one whose fetches fail gets no ends from them, and its lag
// must still grow with what is produced.
func (c *Consumer) watchLag(ctx context.Context) {
	every := c.opts.LagRefresh
	t := time.NewTicker(every)
	defer t.Stop()
	adm := kadm.NewClient(c.cl)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if topics := c.lags.unpositioned(); len(topics) > 0 {
			c.positionLags(ctx, adm, topics)
		}
		if topics := c.lags.stale(every); len(topics) > 0 {
			c.listLags(ctx, adm, topics)
		}
	}
}

// listLags asks the brokers where the partitions of topics end, and where
// they start (retention moves the start past a position not consumed).
func (c *Consumer) listLags(ctx context.Context, adm *kadm.Client, topics []string) {
	lctx, cancel := context.WithTimeout(ctx, c.opts.LagRefresh)
	defer cancel()
	if starts, err := adm.ListStartOffsets(lctx, topics...); err != nil {
		c.log.Debug("could not list the partitions' starts for the consumer lag", "err", err)
	} else {
		c.lags.started(starts)
	}
	ends, err := adm.ListCommittedOffsets(lctx, topics...)
	if err != nil {
		c.log.Debug("could not list the partitions' ends for the consumer lag", "err", err)
		return
	}
	c.lags.listed(ends)
}

// positionLags asks the brokers where the group committed on topics, and
// where their logs start, for the partitions whose position is not known.
func (c *Consumer) positionLags(ctx context.Context, adm *kadm.Client, topics []string) {
	lctx, cancel := context.WithTimeout(ctx, c.opts.LagRefresh)
	defer cancel()
	commits, err := adm.FetchOffsetsForTopics(lctx, c.opts.Group, topics...)
	if err != nil {
		c.log.Debug("could not fetch the group's committed offsets for the consumer lag", "err", err)
		return
	}
	starts, err := adm.ListStartOffsets(lctx, topics...)
	if err != nil {
		c.log.Debug("could not list the partitions' starts for the consumer lag", "err", err)
		return
	}
	c.lags.positioned(commits, starts)
}
