package projector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/sinks"
)

// defaultDeadLetterBytes is what a dead-letter topic takes when it does
// not say (Kafka's default max.message.bytes, 1 MB); deadLetterLimit is
// what it says (ensureDeadLetterTopic reads it), up to maxDeadLetterBatch,
// the producer's batch cap. A dead letter over it goes without its value
// before it is sent: its headers still say what failed and where the
// original is. A topic that takes less refuses it, and it is sent again
// smaller (shrink).
const (
	defaultDeadLetterBytes = 1_048_588
	maxDeadLetterBatch     = 64 << 20
	// deadLetterOverhead is a record's size in a batch besides its key,
	// value and headers, and the batch's own, generously.
	deadLetterOverhead = 512
)

// recordSize is r's size in a batch, about.
func recordSize(r *kgo.Record) int {
	n := len(r.Key) + len(r.Value) + deadLetterOverhead
	for _, h := range r.Headers {
		n += len(h.Key) + len(h.Value) + 8
	}
	return n
}

// deadLetters writes records that could not be projected to the dead-letter
// topic, with headers naming the error and where the record came from, and
// the docs a store refused, with headers naming the error, sink, view, doc
// and rev, the doc as JSON for its value.
func (c *Consumer) deadLetters(ctx context.Context, dead []DeadLetter, refused []Refusal) error {
	out := make([]*kgo.Record, 0, len(dead)+len(refused))
	for _, d := range dead {
		r := &kgo.Record{
			Topic: c.opts.DeadLetterTopic,
			Key:   d.Record.Key,
			Value: d.Record.Value,
			Headers: []kgo.RecordHeader{
				{Key: "projector.error", Value: errorHeader(d.Err)},
				{Key: "projector.topic", Value: []byte(d.Record.Topic)},
				{Key: "projector.partition", Value: []byte(strconv.Itoa(int(d.Record.Partition)))},
				{Key: "projector.offset", Value: []byte(strconv.FormatInt(d.Record.Offset, 10))},
			},
		}
		// The original's headers follow: a tombstone's may be what made
		// it a delete, and a replay of the dead letter needs them.
		for _, h := range d.Record.Headers {
			r.Headers = append(r.Headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
		}
		out = append(out, r)
	}
	for _, r := range refused {
		out = append(out, &kgo.Record{
			Topic: c.opts.DeadLetterTopic,
			Key:   []byte(r.Doc.ID),
			Value: refusedDoc(r.Doc),
			Headers: []kgo.RecordHeader{
				{Key: "projector.error", Value: errorHeader(r.Err)},
				{Key: "projector.sink", Value: []byte(r.Sink)},
				{Key: "projector.view", Value: []byte(r.Doc.View)},
				{Key: "projector.doc_id", Value: []byte(r.Doc.ID)},
				{Key: "projector.rev", Value: []byte(strconv.FormatInt(r.Doc.Rev, 10))},
			},
		})
	}
	limit := int(c.deadLetterLimit.Load())
	if limit == 0 {
		limit = defaultDeadLetterBytes
	}
	for _, r := range out {
		if recordSize(r) > limit {
			omitValue(r, limit)
		}
	}
	// Sent in groups the topic takes at once: the producer batches what a
	// call sends up to maxDeadLetterBatch, and a topic refuses a batch
	// over its limit whole, which would leave out values it takes.
	for len(out) > 0 {
		n, size := 1, recordSize(out[0])
		for ; n < len(out); n++ {
			next := recordSize(out[n])
			if size+next > limit {
				break
			}
			size += next
		}
		if err := c.produceOmittingTooLarge(ctx, out[:n], limit); err != nil {
			return fmt.Errorf("dead-letter topic %s: %w", c.opts.DeadLetterTopic, err)
		}
		out = out[n:]
	}
	for _, d := range dead {
		c.eng.metrics.deadLetters.WithLabelValues(d.Record.Topic).Inc()
		c.log.Warn("record sent to the dead-letter topic", "topic", d.Record.Topic, "partition", d.Record.Partition, "offset", d.Record.Offset, "err", d.Err)
	}
	for _, r := range refused {
		c.log.Warn("refused doc sent to the dead-letter topic", "sink", r.Sink, "view", r.Doc.View, "doc", r.Doc.ID, "rev", r.Doc.Rev)
	}
	return nil
}

// maxErrorHeader bounds the projector.error header: a dead letter whose
// value is left out for its size must not stay too large by its reason.
const maxErrorHeader = 8 << 10

// shortErrorHeader is what is kept of the projector.error header of a dead
// letter a topic refuses with nothing else left to drop.
const shortErrorHeader = 256

func errorHeader(err error) []byte { return cutText([]byte(err.Error()), maxErrorHeader) }

// cutText is msg cut to at most n bytes and "…", at a character's start.
func cutText(msg []byte, n int) []byte {
	if len(msg) <= n {
		return msg
	}
	for n > 0 && !utf8.RuneStart(msg[n]) {
		n--
	}
	return append(msg[:n:n], "…"...)
}

// refusedDoc is a refused doc as a dead letter shows it: the view's
// fields, or its key when the doc was a delete.
func refusedDoc(d sinks.Doc) []byte {
	v := d.Fields
	if d.Deleted {
		v = d.Key
	}
	b, err := json.Marshal(v)
	if err != nil {
		// A value JSON cannot hold (the reason it was refused, perhaps):
		// the headers still say which doc it was.
		return nil
	}
	return b
}

// omitValue drops a dead letter's value (and a key too long to keep in
// limit, what the topic takes), saying so in a header.
func omitValue(r *kgo.Record, limit int) {
	if r.Value == nil {
		return
	}
	r.Headers = append(r.Headers, kgo.RecordHeader{Key: "projector.value_omitted",
		Value: []byte(strconv.Itoa(len(r.Value)) + " bytes, more than the dead-letter topic takes")})
	r.Value = nil
	if recordSize(r) > limit {
		omitKey(r)
	}
}

func omitKey(r *kgo.Record) {
	r.Headers = append(r.Headers, kgo.RecordHeader{Key: "projector.key_omitted",
		Value: []byte(strconv.Itoa(len(r.Key)) + " bytes, more than the dead-letter topic takes")})
	r.Key = nil
}

// shrink drops the next part of a dead letter the topic refused as too
// large: its value, then its key, then the original record's headers,
// keeping projector's own, which say what failed and where the original
// is, then all but the start of the error. It reports false when nothing
// is left to drop.
func shrink(r *kgo.Record, limit int) bool {
	switch {
	case r.Value != nil:
		omitValue(r, limit)
	case r.Key != nil:
		omitKey(r)
	default:
		own := r.Headers[:0]
		for _, h := range r.Headers {
			if strings.HasPrefix(h.Key, "projector.") {
				own = append(own, h)
			}
		}
		if len(own) < len(r.Headers) {
			r.Headers = append(own, kgo.RecordHeader{Key: "projector.headers_omitted",
				Value: []byte("the original record's headers, more than the dead-letter topic takes")})
			return true
		}
		for i, h := range r.Headers {
			if h.Key == "projector.error" && len(h.Value) > shortErrorHeader {
				r.Headers[i].Value = cutText(h.Value, shortErrorHeader)
				return true
			}
		}
		return false
	}
	return true
}

// produceOmittingTooLarge writes dead letters; those the topic refuses as
// too large (it takes less than Kafka's default) are written again without
// their value, and only those: the others are written already. A topic
// that is missing (the brokers did not answer at start, or it was deleted
// since) is created, and its dead letters written again; so is one
// deleted and created again since the client last wrote to it.
func (c *Consumer) produceOmittingTooLarge(ctx context.Context, out []*kgo.Record, limit int) error {
	created, purged := false, false
	for len(out) > 0 {
		var again, alone []*kgo.Record
		missing, purge := false, false
		for _, res := range c.cl.ProduceSync(ctx, out...) {
			switch {
			case res.Err == nil:
			case (errors.Is(res.Err, kerr.MessageTooLarge) || errors.Is(res.Err, kerr.RecordListTooLarge)) && len(out) > 1:
				// Refused with the others of its batch: the topic takes
				// less than it said (or than Kafka's default, unread), and
				// this one may fit alone. Each is sent again on its own
				// before anything is left out of it.
				alone = append(alone, res.Record)
			case errors.Is(res.Err, kerr.MessageTooLarge) || errors.Is(res.Err, kerr.RecordListTooLarge):
				if !shrink(res.Record, limit) {
					return res.Err // projector's own headers alone are too large
				}
				again = append(again, res.Record)
			case errors.Is(res.Err, kerr.UnknownTopicOrPartition) && !created:
				missing = true
				again = append(again, res.Record)
			case errors.Is(res.Err, kerr.UnknownTopicID) && !purged:
				// Deleted and created again (by us, or by an operator
				// emptying it): the client holds the old topic ID, and
				// keeps it until the topic is purged from producing.
				purge = true
				again = append(again, res.Record)
			default:
				return res.Err
			}
		}
		if purge {
			c.cl.PurgeTopicsFromProducing(c.opts.DeadLetterTopic)
			purged = true
		}
		if missing || purge {
			c.ensureDeadLetterTopic(ctx)
			created = created || missing
		}
		for _, r := range alone {
			if err := c.produceOmittingTooLarge(ctx, []*kgo.Record{r}, limit); err != nil {
				return err
			}
		}
		out = again
	}
	return nil
}
