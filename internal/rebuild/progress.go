package rebuild

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Progress receives a rebuild's progress: phases (fill, verify, sweep)
// with the number of documents expected (0 if unknown), and documents done.
// Implementations must be safe for concurrent Add calls.
type Progress interface {
	Phase(name string, total int64)
	Add(n int64)
	Done()
}

// NewProgress reports to w: a bar redrawn in place when w is a terminal,
// otherwise a plain line every interval (and at the end of each phase).
func NewProgress(w io.Writer, interval time.Duration) Progress {
	if interval <= 0 {
		interval = 5 * time.Second
	}
	p := &reporter{w: w, interval: interval, now: time.Now}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
			p.interval = 100 * time.Millisecond
		}
	}
	return p
}

// reporter draws progress. A hand-written bar: the whole need is one line
// with a count, a rate and an ETA, not worth a dependency.
type reporter struct {
	w        io.Writer
	tty      bool
	interval time.Duration
	now      func() time.Time

	mu      sync.Mutex
	phase   string
	total   int64
	done    int64
	start   time.Time
	last    time.Time
	drawn   bool
	samples []sample // recent (time, done), for the current rate
}

type sample struct {
	at   time.Time
	done int64
}

func (p *reporter) Phase(name string, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.finish()
	p.phase, p.total, p.done = name, total, 0
	p.start = p.now()
	p.last = time.Time{}
	p.samples = []sample{{p.start, 0}}
	if p.tty {
		p.draw(false)
	}
}

func (p *reporter) Add(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	now := p.now()
	if now.Sub(p.last) >= p.interval {
		p.samples = append(p.samples, sample{now, p.done})
		if len(p.samples) > 20 {
			p.samples = p.samples[len(p.samples)-20:]
		}
		p.draw(false)
	}
}

func (p *reporter) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.finish()
}

// finish draws the final line of the current phase. Callers hold p.mu.
func (p *reporter) finish() {
	if p.phase == "" {
		return
	}
	p.draw(true)
	p.phase = ""
}

// draw writes the current state. Callers hold p.mu.
func (p *reporter) draw(final bool) {
	now := p.now()
	p.last = now
	elapsed := now.Sub(p.start)
	rate := 0.0
	if final {
		if elapsed > 0 {
			rate = float64(p.done) / elapsed.Seconds()
		}
	} else if len(p.samples) > 1 {
		first := p.samples[0]
		if d := now.Sub(first.at); d > 0 {
			rate = float64(p.done-first.done) / d.Seconds()
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-7s", p.phase)
	if p.total > 0 {
		frac := min(float64(p.done)/float64(p.total), 1)
		if p.tty {
			const width = 30
			full := int(frac * width)
			b.WriteString(" [" + strings.Repeat("=", full) + strings.Repeat(" ", width-full) + "]")
		}
		fmt.Fprintf(&b, " %3.0f%% %d/%d docs", 100*frac, p.done, p.total)
	} else {
		fmt.Fprintf(&b, " %d docs", p.done)
	}
	fmt.Fprintf(&b, "  %s docs/s", humanRate(rate))
	switch {
	case final:
		fmt.Fprintf(&b, "  in %s", elapsed.Round(100*time.Millisecond))
	case p.total > p.done && rate > 0:
		eta := time.Duration(float64(p.total-p.done) / rate * float64(time.Second))
		fmt.Fprintf(&b, "  ETA %s", eta.Round(time.Second))
	}
	switch {
	case p.tty && final:
		fmt.Fprintf(p.w, "\r\x1b[K%s\n", b.String())
	case p.tty:
		fmt.Fprintf(p.w, "\r\x1b[K%s", b.String())
	default:
		fmt.Fprintln(p.w, b.String())
	}
}

func humanRate(r float64) string {
	switch {
	case r >= 10000:
		return fmt.Sprintf("%.0fk", r/1000)
	case r >= 1000:
		return fmt.Sprintf("%.1fk", r/1000)
	}
	return fmt.Sprintf("%.0f", r)
}

// noProgress discards progress.
type noProgress struct{}

func (noProgress) Phase(string, int64) {}
func (noProgress) Add(int64)           {}
func (noProgress) Done()               {}
