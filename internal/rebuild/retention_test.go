package rebuild

import (
	"testing"
	"time"
)

// TestRecordLifetime: how long a topic may keep a deleted row's records,
// which the replay compares with the state's tombstone retention.
// Compacted topics (Debezium's default for topics it creates in the
// example) keep them until the cleaner runs, which nothing bounds unless
// max.compaction.lag.ms is set.
func TestRecordLifetime(t *testing.T) {
	day := 24 * time.Hour
	for _, tc := range []struct {
		name     string
		settings map[string]string
		lives    time.Duration
		forever  bool
		known    bool
	}{
		{"delete", map[string]string{"cleanup.policy": "delete", "retention.ms": "604800000", "segment.ms": "604800000"}, 14 * day, false, true},
		{"delete forever", map[string]string{"cleanup.policy": "delete", "retention.ms": "-1"}, 0, true, true},
		{"no policy read", map[string]string{"retention.ms": "86400000"}, day, false, true},
		{"unknown retention", map[string]string{"cleanup.policy": "delete"}, 0, false, false},
		{"compact, default lag", map[string]string{"cleanup.policy": "compact", "retention.ms": "86400000",
			"max.compaction.lag.ms": "9223372036854775807", "delete.retention.ms": "86400000"}, 0, true, true},
		{"compact, bounded lag", map[string]string{"cleanup.policy": "compact",
			"max.compaction.lag.ms": "172800000", "delete.retention.ms": "86400000"}, 3 * day, false, true},
		{"compact and delete", map[string]string{"cleanup.policy": "compact,delete", "retention.ms": "86400000", "segment.ms": "0",
			"max.compaction.lag.ms": "9223372036854775807", "delete.retention.ms": "86400000"}, day, false, true},
	} {
		lives, forever, known := recordLifetime(tc.settings)
		if known != tc.known || forever != tc.forever || (!forever && known && lives != tc.lives) {
			t.Errorf("%s: %v, forever %v, known %v; want %v, %v, %v", tc.name, lives, forever, known, tc.lives, tc.forever, tc.known)
		}
	}
}
