package fieldvalue

import (
	"testing"
	"time"
)

// TestParseTimeOfDayKeepsNanoseconds: a time of day is read to the
// nanosecond as written (the engine's text, TimeOfDay, rounds it to
// microseconds as PostgreSQL does), up to the end of the day, 24:00:00, and
// no further.
func TestParseTimeOfDayKeepsNanoseconds(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
		text string
	}{
		{"10:00:00.0000005", 10*time.Hour + 500, true, "10:00:00"},
		{"23:59:59.999999999", 24*time.Hour - 1, true, "24:00:00"},
		{"24:00:00", 24 * time.Hour, true, "24:00:00"},
		{"24:00:00.000000000", 24 * time.Hour, true, "24:00:00"},
		{"24:00:00.0000001", 0, false, ""},
		{"10:00", 0, false, ""},
	} {
		got, ok := ParseTimeOfDay(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseTimeOfDay(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
		if text, _ := TimeOfDay(tc.in); text != tc.text {
			t.Errorf("TimeOfDay(%q) = %q, want %q", tc.in, text, tc.text)
		}
	}
}
