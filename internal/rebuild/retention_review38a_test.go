package rebuild

import (
	"testing"
	"time"
)

// TestR38aRecordLifetimeHugeRetention: a topic told to keep its records
// for ever with retention.ms = Long.MAX_VALUE (Kafka takes any long of
// at least -1) keeps them longer than any tombstone retention, and
// `rebuild --from kafka` must warn (README, Consistency: "which warns when
// a topic may keep records longer than the retention"). recordLifetime
// adds retention.ms and segment.ms as int64 milliseconds and multiplies
// them into a time.Duration in nanoseconds: the sum overflows and wraps,
// and the topic passes for keeping its records a week, shorter than the
// default retention of 30 days, so the warning is not given.
func TestR38aRecordLifetimeHugeRetention(t *testing.T) {
	keep := 30 * 24 * time.Hour // the default state.tombstone_retention
	for _, retention := range []string{"9223372036854775807"} {
		settings := map[string]string{"cleanup.policy": "delete", "retention.ms": retention, "segment.ms": "604800000"}
		lives, forever, known := recordLifetime(settings)
		if !known || !(forever || lives > keep) {
			t.Errorf("retention.ms=%s: lives %v, forever %v, known %v; want it to outlive a retention of %v (warnRetention then stays silent)",
				retention, lives, forever, known, keep)
		}
	}
}
