package projector

import (
	"context"
	"log/slog"
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

// kafkaLogger is log for the Kafka client: warnings and errors, or
// everything when log is at debug level.
func kafkaLogger(log *slog.Logger) *slog.Logger {
	if log.Enabled(context.Background(), slog.LevelDebug) {
		return log.With("component", "kafka")
	}
	return slog.New(minLevel{log.Handler(), slog.LevelWarn}).With("component", "kafka")
}
