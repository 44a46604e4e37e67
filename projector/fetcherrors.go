package projector

import (
	"cmp"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// fetchErrors logs the errors fetches give for as long as they last: once
// when a partition starts failing or its error changes, again every
// repeatEvery (as the Kafka client's own repeated warnings, see quiet)
// with how many times it came meanwhile, and once when it clears. An
// error the client does not retry on its own (TOPIC_AUTHORIZATION_FAILED:
// the consumer's Read ACL was removed) comes back with every poll, every
// second or so per partition, until an operator acts. The partitions of
// a topic failing with the same error share one line.
//
// It is used by the consume loop alone.
type fetchErrors struct {
	log *slog.Logger
	now func() time.Time
	// failing is the error each failing partition last gave.
	failing map[topicPartition]error
	// logged is, by topic and error, when it was last logged and how
	// many polls brought it since.
	logged map[fetchErrorKey]*repeat
	// polled is the errors of the poll being reported (see failed).
	polled map[topicPartition]error
}

// fetchErrorKey is what one log line is about: a topic's partitions
// failing with the same error.
type fetchErrorKey struct {
	topic string
	err   string
}

func newFetchErrors(log *slog.Logger) *fetchErrors {
	return &fetchErrors{log: log, now: time.Now, failing: map[topicPartition]error{},
		logged: map[fetchErrorKey]*repeat{}, polled: map[topicPartition]error{}}
}

// failed notes a partition's error in the poll being reported.
func (e *fetchErrors) failed(topic string, partition int32, err error) {
	e.polled[topicPartition{topic, partition}] = err
}

// report logs what changed with the poll: the errors noted (failed) that
// are new or due again, and the failing partitions the poll brought
// without an error. A partition the poll does not bring keeps its state:
// the client returns a partition's fetch only with records or errors (of
// it, or of another partition from the same broker), so an idle
// partition's error is seen cleared with its next record.
func (e *fetchErrors) report(fetches kgo.Fetches) {
	if len(e.failing) == 0 && len(e.polled) == 0 {
		return // the usual poll: nothing failing, nothing to look at
	}
	defer clear(e.polled)
	cleared := map[fetchErrorKey][]int32{}
	fetches.EachPartition(func(f kgo.FetchTopicPartition) {
		tp := topicPartition{f.Topic, f.Partition}
		if was := e.failing[tp]; was != nil && f.Err == nil && e.polled[tp] == nil {
			k := fetchErrorKey{tp.topic, was.Error()}
			cleared[k] = append(cleared[k], tp.partition)
			delete(e.failing, tp)
		}
	})
	due := map[fetchErrorKey]bool{}
	for tp, err := range e.polled {
		k := fetchErrorKey{tp.topic, err.Error()}
		was := e.failing[tp]
		e.failing[tp] = err
		due[k] = due[k] || was == nil || was.Error() != k.err
	}
	for _, k := range sortedKeys(cleared) {
		e.log.Info("fetch error cleared", "topic", k.topic, "partitions", slices.Sorted(slices.Values(cleared[k])), "err", k.err)
	}
	now := e.now()
	for _, k := range sortedKeys(due) {
		rep := e.logged[k]
		switch {
		case rep == nil:
			rep = &repeat{}
			e.logged[k] = rep
		case !due[k] && now.Sub(rep.at) < repeatEvery:
			rep.dropped++
			continue
		}
		e.logWarn(k, rep.dropped)
		*rep = repeat{at: now}
	}
	// Forget the errors no partition fails with any more (cleared, or
	// changed): one coming back is new.
	for k := range e.logged {
		if !e.stillFailing(k) {
			delete(e.logged, k)
		}
	}
}

// logWarn logs the key's error with every partition failing with it now.
func (e *fetchErrors) logWarn(k fetchErrorKey, repeated int) {
	var parts []int32
	var err error
	for tp, perr := range e.failing {
		if tp.topic == k.topic && perr.Error() == k.err {
			parts, err = append(parts, tp.partition), perr
		}
	}
	slices.Sort(parts)
	attrs := []any{"topic", k.topic, "partitions", parts, "err", err}
	if repeated > 0 {
		attrs = append(attrs, "repeated", repeated)
	}
	e.log.Warn("fetch error", attrs...)
}

func (e *fetchErrors) stillFailing(k fetchErrorKey) bool {
	for tp, err := range e.failing {
		if tp.topic == k.topic && err.Error() == k.err {
			return true
		}
	}
	return false
}

// sortedKeys orders the lines of one report, for a log that reads the
// same from run to run.
func sortedKeys[V any](m map[fetchErrorKey]V) []fetchErrorKey {
	return slices.SortedFunc(maps.Keys(m), func(a, b fetchErrorKey) int {
		return cmp.Or(cmp.Compare(a.topic, b.topic), cmp.Compare(a.err, b.err))
	})
}
