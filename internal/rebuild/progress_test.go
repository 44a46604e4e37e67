package rebuild

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestProgressLines: without a terminal, a plain line per interval with the
// count, the rate and the ETA, and a final line per phase.
func TestProgressLines(t *testing.T) {
	var out bytes.Buffer
	p := NewProgress(&out, time.Second).(*reporter)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p.now = func() time.Time { return now }

	p.Phase("fill", 1000)
	for range 4 {
		now = now.Add(time.Second)
		p.Add(100) // 100 docs/s
	}
	p.Phase("verify", 0)
	now = now.Add(2 * time.Second)
	p.Add(1000)
	p.Done()

	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{
		"fill     10% 100/1000 docs  100 docs/s  ETA 9s",
		"fill     20% 200/1000 docs  100 docs/s  ETA 8s",
		"fill     30% 300/1000 docs  100 docs/s  ETA 7s",
		"fill     40% 400/1000 docs  100 docs/s  ETA 6s",
		"fill     40% 400/1000 docs  100 docs/s  in 4s",
		"verify  1000 docs  500 docs/s",
		"verify  1000 docs  500 docs/s  in 2s",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("progress:\n%s\nwant:\n%s", out.String(), strings.Join(want, "\n"))
	}
}
