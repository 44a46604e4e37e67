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

// maxDeadLetterBytes bounds a dead letter's key and value. Kafka refuses a
// record over its topic's max.message.bytes (about 1 MB by default, and
// the producer's batch cap is the same), and a dead letter the topic
// refuses would stop the consumer for good. A bigger one goes without its
// value: its headers still say what failed and where the original is.
const maxDeadLetterBytes = 900_000

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
	for _, r := range out {
		if len(r.Key)+len(r.Value) > maxDeadLetterBytes {
			omitValue(r)
		}
	}
	err := c.produceOmittingTooLarge(ctx, out)
	if err != nil {
		return fmt.Errorf("dead-letter topic %s: %w", c.opts.DeadLetterTopic, err)
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

func errorHeader(err error) []byte {
	msg := err.Error()
	if len(msg) > maxErrorHeader {
		cut := maxErrorHeader
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	return []byte(msg)
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

// omitValue drops a dead letter's value (and a key too long to keep),
// saying so in a header.
func omitValue(r *kgo.Record) {
	if r.Value == nil {
		return
	}
	r.Headers = append(r.Headers, kgo.RecordHeader{Key: "projector.value_omitted",
		Value: []byte(strconv.Itoa(len(r.Value)) + " bytes, more than the dead-letter topic takes")})
	r.Value = nil
	if len(r.Key) > maxDeadLetterBytes/2 {
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
// is. It reports false when nothing is left to drop.
func shrink(r *kgo.Record) bool {
	switch {
	case r.Value != nil:
		omitValue(r)
	case r.Key != nil:
		omitKey(r)
	default:
		own := r.Headers[:0]
		for _, h := range r.Headers {
			if strings.HasPrefix(h.Key, "projector.") {
				own = append(own, h)
			}
		}
		if len(own) == len(r.Headers) {
			return false
		}
		r.Headers = append(own, kgo.RecordHeader{Key: "projector.headers_omitted",
			Value: []byte("the original record's headers, more than the dead-letter topic takes")})
	}
	return true
}

// produceOmittingTooLarge writes dead letters; those the topic refuses as
// too large (it takes less than Kafka's default) are written again without
// their value, and only those: the others are written already. A topic
// that is missing (the brokers did not answer at start, or it was deleted
// since) is created, and its dead letters written again; so is one
// deleted and created again since the client last wrote to it.
func (c *Consumer) produceOmittingTooLarge(ctx context.Context, out []*kgo.Record) error {
	created, purged := false, false
	for len(out) > 0 {
		var again []*kgo.Record
		missing, purge := false, false
		for _, res := range c.cl.ProduceSync(ctx, out...) {
			switch {
			case res.Err == nil:
			case errors.Is(res.Err, kerr.MessageTooLarge) || errors.Is(res.Err, kerr.RecordListTooLarge):
				if !shrink(res.Record) {
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
		out = again
	}
	return nil
}
