package cli

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	goredis "github.com/redis/go-redis/v9"
)

// redisLog is the logger go-redis writes through: the process logger, as
// logger last built it. go-redis has one logger for the whole process.
var redisLog atomic.Pointer[slog.Logger]

var routeRedis sync.Once

// routeLibraryLogs sends what libraries log on their own (go-redis's pool:
// "failed to dial after 5 attempts", …) to log, so that log.format and
// log.level apply to every line.
func routeLibraryLogs(log *slog.Logger) {
	redisLog.Store(log)
	routeRedis.Do(func() { goredis.SetLogger(redisLogger{}) })
}

// redisLogger adapts go-redis's Printf logging to slog. A failed dial is
// logged at Debug: it happens on every attempt while Redis is down, and
// the sink's "sink write failed" warning and /readyz already say so.
// Anything else go-redis reports is unexpected: Warn.
type redisLogger struct{}

func (redisLogger) Printf(ctx context.Context, format string, v ...any) {
	log := redisLog.Load()
	msg := strings.TrimPrefix(strings.TrimSpace(fmt.Sprintf(format, v...)), "redis: ")
	level := slog.LevelWarn
	if strings.Contains(msg, "failed to dial") {
		level = slog.LevelDebug
	}
	if ctx == nil {
		ctx = context.Background()
	}
	log.Log(ctx, level, msg, "component", "redis")
}
