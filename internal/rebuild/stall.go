package rebuild

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/projectorhq/projector/internal/kafkautil"
)

// stall tracks how long a replay has gone without progress towards its end
// offsets. Transaction markers reach the replay as control records, so a
// log ending in them ends the replay at once; what can still leave it short
// of an end offset is a gap (a compacted tail) — or brokers that stopped
// answering, which must fail the rebuild rather than end the replay.
type stall struct {
	idle time.Duration
	// last is the last progress, or the brokers' last answer to a probe.
	last time.Time
	// answered: the brokers answered a probe since the last progress, so
	// an idle period from then on is the end of what the log holds.
	answered bool
}

func newStall(idle time.Duration) *stall { return &stall{idle: idle, last: time.Now()} }

// progress notes a record or marker below an end offset.
func (s *stall) progress() { s.last, s.answered = time.Now(), false }

// left is how long the replay may still wait before it counts as idle.
func (s *stall) left() time.Duration { return max(s.idle-time.Since(s.last), time.Millisecond) }

// replayOver reports whether a replay waiting for topics' end offsets is
// over. Idle for ReplayIdle, it asks the brokers first: they may be down
// rather than the log short of its end (ErrKafkaUnreachable). Once they
// answered, it waits ReplayIdle once more, since fetches resume a moment
// after an outage ends, and only then ends.
func (r *run) replayOver(ctx context.Context, adm *kadm.Client, s *stall, topics []string) (bool, error) {
	if time.Since(s.last) < s.idle {
		return false, nil
	}
	if s.answered {
		return true, nil
	}
	if err := r.brokersAnswer(ctx, adm, topics); err != nil {
		return false, err
	}
	s.last, s.answered = time.Now(), true
	return false, nil
}

// brokersAnswer lists the end offsets of topics within ReplayIdle: an error
// (no answer, a partition without a leader) means they cannot be read.
func (r *run) brokersAnswer(ctx context.Context, adm *kadm.Client, topics []string) error {
	pctx, cancel := context.WithTimeout(ctx, r.opts.ReplayIdle)
	defer cancel()
	ends, err := adm.ListCommittedOffsets(pctx, topics...) // last stable offsets, as the replay reads committed records only
	if err == nil {
		err = ends.Error()
	}
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("%w: no record for %s and the end offsets of %v could not be listed within %s: %w",
		ErrKafkaUnreachable, r.opts.ReplayIdle, topics, r.opts.ReplayIdle, err)
}

// untilAnswered runs list, a listing of offsets at the start of a replay,
// until the brokers answer it. Brokers that do not answer (down, not
// reachable, not listening) are asked again until ReplayIdle is over, as
// in the middle of a replay: a broker restarting is waited for, and one
// that stays away fails the rebuild with ErrKafkaUnreachable. An answer
// that is an error (an unknown topic), and a TLS or SASL refusal, which
// asking again does not change, fail it at once.
func (r *run) untilAnswered(ctx context.Context, topics []string, list func(context.Context) (answered bool, err error)) error {
	deadline := time.Now().Add(r.opts.ReplayIdle)
	for {
		lctx, cancel := context.WithDeadline(ctx, deadline)
		answered, err := list(lctx)
		cancel()
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case answered || kafkautil.Explain(err).Error() != err.Error(): // Explain adds a hint to what settings can fix
			return err
		case !time.Now().Before(deadline):
			return fmt.Errorf("%w: the brokers did not answer a listing of the offsets of %v within %s: %w",
				ErrKafkaUnreachable, topics, r.opts.ReplayIdle, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(time.Until(deadline), 250*time.Millisecond)):
		}
	}
}
