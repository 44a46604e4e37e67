package projector

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Offsets and their commits: what a batch commits, and which commits a
// member may still make after a rebalance or a topic's re-creation.

// consumeAgain starts over on topics deleted and created again (the
// brokers know them under a new topic ID): the client fails their fetches
// until they are consumed afresh. The batches in flight, all of the old
// topics, are finished first; failed commits and watermarks of the old
// topics are forgotten, since their offsets mean nothing in the new ones
// and a watermark past a new topic's end would tell readers its records
// are in the stores before they are. The caller allows the rebalance
// consuming them afresh may start once the rest of its poll is committed.
func (c *Consumer) consumeAgain(ctx context.Context, p *pipeline, topics []string) error {
	c.log.Warn("topics were deleted and created again; consuming them afresh", "topics", topics)
	if err := c.promote(ctx, p, true); err != nil {
		return err
	}
	if err := p.wait(); err != nil {
		return err
	}
	c.mu.Lock()
	c.unacked = slices.DeleteFunc(c.unacked, func(r *kgo.Record) bool { return slices.Contains(topics, r.Topic) })
	for _, t := range topics {
		delete(c.owned, t) // assigned again once consumed afresh
	}
	c.mu.Unlock()
	c.lags.forgetTopics(topics)
	if err := c.retry(ctx, "forget watermarks", func(ctx context.Context) error {
		return c.eng.state.forgetWatermarks(ctx, topics)
	}); err != nil {
		return err
	}
	c.cl.PurgeTopicsFromConsuming(topics...)
	c.cl.AddConsumeTopics(topics...)
	return nil
}

// checkWatermarks forgets the watermarks of assigned partitions that are
// past their end or that the group has no committed offset for: a topic
// deleted and created again while no member ran (Kafka drops the group's
// offsets with it, and the new topic is consumed from its start;
// consumeAgain covers one seen while running), or records a broker lost. Such a watermark would tell readers that records are in
// the stores before they are. It is done before the partitions are
// consumed, and at worst (the brokers or PostgreSQL not answering in
// time) only logged.
func (c *Consumer) checkWatermarks(ctx context.Context, cl *kgo.Client, assigned map[string][]int32) {
	topics := slices.Collect(maps.Keys(assigned))
	if len(topics) == 0 {
		return // a rebalance that gave this member nothing (no topics: every topic)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	listed, err := kadm.NewClient(cl).ListEndOffsets(ctx, topics...)
	if err == nil {
		err = listed.Error()
	}
	ends := map[string]map[int32]int64{}
	listed.Each(func(o kadm.ListedOffset) {
		if o.Err == nil && slices.Contains(assigned[o.Topic], o.Partition) {
			if ends[o.Topic] == nil {
				ends[o.Topic] = map[int32]int64{}
			}
			ends[o.Topic][o.Partition] = o.Offset
		}
	})
	cerr := c.uncommitted(ctx, cl, assigned, ends)
	n, ferr := c.eng.state.forgetWatermarksPast(ctx, ends)
	switch {
	case err != nil || cerr != nil || ferr != nil:
		c.log.Warn("could not check the watermarks of the assigned partitions against their ends", "err", errors.Join(err, cerr, ferr))
	case n > 0:
		c.log.Warn("watermarks past their partitions' end forgotten: a topic was created again, or a broker lost records", "partitions", n)
	}
}

// uncommitted sets the end of every assigned partition the group has no
// committed offset for to -1 in ends, so that its watermark is forgotten
// whatever its offset: Kafka drops a group's offsets with their topic, so
// a topic created again while no member ran, holding as many records as
// the watermark's offset or more, has none, and is consumed from its
// start. (A group new to the topics, or whose offsets expired, starts over
// as well: forgetting then only makes readers wait for the replay.)
func (c *Consumer) uncommitted(ctx context.Context, cl *kgo.Client, assigned map[string][]int32, ends map[string]map[int32]int64) error {
	commits, err := kadm.NewClient(cl).FetchOffsetsForTopics(ctx, c.opts.Group, slices.Collect(maps.Keys(assigned))...)
	if err == nil {
		err = commits.Error()
	}
	if err != nil {
		return err
	}
	for topic, parts := range assigned {
		for _, p := range parts {
			if r, ok := commits.Lookup(topic, p); ok && r.Err == nil && r.At >= 0 {
				continue
			}
			if ends[topic] == nil {
				ends[topic] = map[int32]int64{}
			}
			ends[topic][p] = -1
		}
	}
	return nil
}

// offsets is what committing a batch takes of its records, per partition:
// the last one, without its key and value, so that the batch's records
// can be freed once it is prepared rather than once it is written.
type offsets []partitionOffset

type partitionOffset struct {
	last    *kgo.Record
	records int
}

// offsetsOf is what committing a batch takes of its records: each
// partition's last one and how many it has, in the order the partitions
// first come. A partition's records are in order in a batch, so its last
// one is the furthest.
func offsetsOf(recs []*kgo.Record) offsets {
	type partition struct {
		topic string
		id    int32
	}
	var o offsets
	at := map[partition]int{}
	for _, r := range recs {
		k := partition{r.Topic, r.Partition}
		i, ok := at[k]
		if !ok {
			i = len(o)
			at[k] = i
			o = append(o, partitionOffset{})
		}
		o[i].last = r
		o[i].records++
	}
	for i := range o {
		r := o[i].last
		o[i].last = &kgo.Record{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, LeaderEpoch: r.LeaderEpoch}
	}
	return o
}

// commit commits the offsets of projected records (and of earlier ones
// whose commit failed). A failed commit is not fatal: it is retried with the
// next batch, every second while no record comes, and on revocation; a
// replay is harmless anyway.
//
// Records polled by a member the group has replaced are not committed. A
// member dropped from the group (its rebalance waited past the timeout on
// a long batch) joins again under a new member ID, and until its new
// assignment reaches the callbacks it still works on records of partitions
// that may be another member's by now. Kafka takes a commit from any
// member of the current generation, for any partition: committed under the
// new ID, those offsets would move the new owner's back. They are dropped
// instead, and consumed again: by the partition's new owner, or by this
// member from the group's committed offset if it keeps the partition (see
// assignedTo); a replay is harmless.
func (c *Consumer) commit(ctx context.Context, recs []*kgo.Record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	todo := append(c.unacked, recs...)
	if len(todo) == 0 {
		return
	}
	if member, _ := c.cl.GroupMetadata(); member != c.member {
		c.log.Warn("not committing offsets polled before this member was replaced in the group; they are consumed again from the group's committed offsets",
			"records", len(todo))
		c.unacked = nil
		return
	}
	if err := c.cl.CommitRecords(ctx, todo...); err != nil {
		c.log.Warn("offset commit failed; will retry", "err", err)
		c.unacked = todo
		return
	}
	c.unacked = nil
	c.lags.committed(todo)
}

// assignedTo takes the partitions assigned to this member (the new ones
// only: a cooperative rebalance lets a member keep the others). A new
// member ID means the group replaced this member: failed commits of the
// old one are dropped (see commit), and the partitions it kept are
// consumed again from the group's committed offsets.
//
// A member dropped from the group (its batch outlasted the rebalance
// timeout) joins again under a new ID, and franz-go keeps its assignment
// and fetch positions meanwhile: it goes on consuming the partitions it
// had, and drops the commits of what it projects until the new assignment
// comes. Given the same partitions back, it has nothing new to fetch
// offsets for, and would go on past records whose commits it dropped,
// leaving the group's offsets behind for good. Rewinding those partitions
// to the group's committed offsets, as franz-go does for a partition
// newly assigned, is right whatever happened meanwhile: another member
// that committed further moves this one forward, not its commits back; a
// partition owned by another member now was revoked before (not kept); one
// lost again before this member commits is consumed from the same offset
// by its next owner. Committing the dropped records instead would need
// them to reach the group's committed offset with no gap, and would still
// leave this member behind one that committed further.
func (c *Consumer) assignedTo(ctx context.Context, cl *kgo.Client, assigned map[string][]int32) {
	member, _ := cl.GroupMetadata()
	c.mu.Lock()
	replaced := member != c.member
	kept := c.owned.list()
	if replaced {
		c.unacked = nil
		c.member = member
	}
	c.owned = c.owned.with(assigned)
	c.mu.Unlock()
	if replaced && len(kept) > 0 {
		c.consumeFromCommitted(ctx, cl, kept)
	}
}

// consumeFromCommitted sets the partitions to be consumed from the group's
// committed offsets. Until the brokers answer, the rebalance waits:
// consuming on from where the member was would leave the group's offsets
// behind.
func (c *Consumer) consumeFromCommitted(ctx context.Context, cl *kgo.Client, parts map[string][]int32) {
	adm := kadm.NewClient(cl)
	wait := 100 * time.Millisecond
	for {
		commits, err := adm.FetchOffsetsForTopics(ctx, c.opts.Group, slices.Collect(maps.Keys(parts))...)
		if err == nil {
			err = commits.Error()
		}
		if err == nil {
			at := resumeAt(commits, parts)
			c.log.Warn("this member was replaced in the group and kept partitions: consuming them again from the group's committed offsets",
				"partitions", at)
			cl.SetOffsets(at)
			return
		}
		c.log.Warn("could not fetch the group's committed offsets of the partitions this member kept; retrying", "retry_in", wait, "err", err)
		select {
		case <-ctx.Done():
			return // the client is closed
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// resumeAt is where the group consumes each partition: its committed
// offset, or its start when it has none (offset 0: one before the
// partition's start is reset to it, as kgo.ConsumeResetOffset says).
func resumeAt(commits kadm.OffsetResponses, parts map[string][]int32) map[string]map[int32]kgo.EpochOffset {
	at := map[string]map[int32]kgo.EpochOffset{}
	for topic, ps := range parts {
		at[topic] = map[int32]kgo.EpochOffset{}
		for _, p := range ps {
			at[topic][p] = kgo.EpochOffset{Epoch: -1, Offset: 0}
			if r, ok := commits.Lookup(topic, p); ok && r.At >= 0 {
				at[topic][p] = kgo.EpochOffset{Epoch: r.LeaderEpoch, Offset: r.At}
			}
		}
	}
	return at
}

// forget drops the failed commits of partitions that are no longer ours.
func (c *Consumer) forget(parts map[string][]int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.unacked = slices.DeleteFunc(c.unacked, func(r *kgo.Record) bool {
		return slices.Contains(parts[r.Topic], r.Partition)
	})
	c.owned.remove(parts)
}

// partitionSet is the partitions a member owns, by topic.
type partitionSet map[string]map[int32]bool

func (s partitionSet) with(parts map[string][]int32) partitionSet {
	if s == nil {
		s = partitionSet{}
	}
	for topic, ps := range parts {
		if s[topic] == nil {
			s[topic] = map[int32]bool{}
		}
		for _, p := range ps {
			s[topic][p] = true
		}
	}
	return s
}

func (s partitionSet) remove(parts map[string][]int32) {
	for topic, ps := range parts {
		for _, p := range ps {
			delete(s[topic], p)
		}
		if len(s[topic]) == 0 {
			delete(s, topic)
		}
	}
}

// list is a copy of the set, as the client's callbacks give partitions.
func (s partitionSet) list() map[string][]int32 {
	out := map[string][]int32{}
	for topic, ps := range s {
		out[topic] = slices.Sorted(maps.Keys(ps))
	}
	return out
}

func (c *Consumer) hasUnacked() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.unacked) > 0
}
