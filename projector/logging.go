package projector

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// minLevel drops records below a level. franz-go narrates group
// membership at info level; the daemon's normal operation belongs in
// metrics, so its client logs only warnings unless debugging.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(a []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(a), h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.min}
}

// kafkaLogger is log for the Kafka client: warnings and errors, each
// repeat of one at most every repeatEvery, or everything when log is at
// debug level.
func kafkaLogger(log *slog.Logger) *slog.Logger {
	if log.Enabled(context.Background(), slog.LevelDebug) {
		return log.With("component", "kafka")
	}
	q := quiet{minLevel{log.Handler(), slog.LevelWarn}, &repeats{last: map[string]*repeat{}}}
	return slog.New(q).With("component", "kafka")
}

// repeatEvery is how often a record that keeps coming is logged again.
const repeatEvery = 10 * time.Minute

// quiet drops a record that repeats one logged less than repeatEvery ago,
// and says how many it dropped when it logs it again: a broker that stays
// down, or refuses the client's certificate, makes the Kafka client warn
// the same at every retry, every few seconds, for as long as it lasts.
type quiet struct {
	slog.Handler
	seen *repeats
}

type repeats struct {
	mu   sync.Mutex
	last map[string]*repeat // by message and attributes
}

type repeat struct {
	at      time.Time
	dropped int
}

func (h quiet) Handle(ctx context.Context, r slog.Record) error {
	var key strings.Builder
	key.WriteString(r.Level.String() + " " + r.Message)
	r.Attrs(func(a slog.Attr) bool {
		key.WriteString("\x00" + a.String())
		return true
	})
	now := time.Now()
	h.seen.mu.Lock()
	rep := h.seen.last[key.String()]
	if rep != nil && now.Sub(rep.at) < repeatEvery {
		rep.dropped++
		h.seen.mu.Unlock()
		return nil
	}
	dropped := 0
	if rep != nil {
		dropped = rep.dropped
	}
	if len(h.seen.last) >= 1000 {
		for k, r := range h.seen.last {
			if now.Sub(r.at) >= repeatEvery {
				delete(h.seen.last, k)
			}
		}
	}
	h.seen.last[key.String()] = &repeat{at: now}
	h.seen.mu.Unlock()
	if dropped > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("repeated", dropped))
	}
	return h.Handler.Handle(ctx, r)
}

func (h quiet) WithAttrs(a []slog.Attr) slog.Handler {
	return quiet{h.Handler.WithAttrs(a), h.seen}
}

func (h quiet) WithGroup(name string) slog.Handler {
	return quiet{h.Handler.WithGroup(name), h.seen}
}
