package rebuild

import (
	"strconv"
	"testing"
	"time"
)

// TestRecordLifetimeBeyondDuration: settings longer than a time.Duration
// holds (Kafka takes any long) are records kept for ever, whether one
// setting alone or the sum of two is too long, rather than wrapping round
// to a short lifetime that hides the replay's warning.
func TestRecordLifetimeBeyondDuration(t *testing.T) {
	const maxLong = "9223372036854775807"
	longest := int64(keptForever / time.Millisecond) // the most milliseconds a Duration holds
	for _, tc := range []struct {
		name     string
		settings map[string]string
		forever  bool
		lives    time.Duration
	}{
		{"retention Long.MAX_VALUE", map[string]string{"cleanup.policy": "delete", "retention.ms": maxLong, "segment.ms": "604800000"}, true, 0},
		{"retention fits, with segment does not", map[string]string{"cleanup.policy": "delete",
			"retention.ms": strconv.FormatInt(longest-1000, 10), "segment.ms": "604800000"}, true, 0},
		{"retention at the limit", map[string]string{"cleanup.policy": "delete", "retention.ms": strconv.FormatInt(longest, 10)}, false, time.Duration(longest) * time.Millisecond},
		{"compaction lag fits, with tombstone retention does not", map[string]string{"cleanup.policy": "compact",
			"max.compaction.lag.ms": strconv.FormatInt(longest-1000, 10), "delete.retention.ms": "86400000"}, true, 0},
		{"tombstone retention Long.MAX_VALUE", map[string]string{"cleanup.policy": "compact",
			"max.compaction.lag.ms": "86400000", "delete.retention.ms": maxLong}, true, 0},
		{"both, delete bounds it", map[string]string{"cleanup.policy": "compact,delete", "retention.ms": "86400000", "segment.ms": "0",
			"max.compaction.lag.ms": "86400000", "delete.retention.ms": maxLong}, false, 24 * time.Hour},
	} {
		lives, forever, known := recordLifetime(tc.settings)
		if !known || forever != tc.forever || (!forever && lives != tc.lives) {
			t.Errorf("%s: %v, forever %v, known %v; want %v, forever %v", tc.name, lives, forever, known, tc.lives, tc.forever)
		}
	}
}
