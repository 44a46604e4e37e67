package projector

import "testing"

// TestWakeNeverMissesAStage: whatever the stages' states when the loop
// asks, the poll it is about to start ends once there is something to do
// (a closed channel: at once) and is never left without an end while a
// batch is in flight. A stage finishing between the loop's checks and
// wake() left the poll waiting for records that may never come, with an
// applied batch unwritten and a rebalance blocked.
func TestWakeNeverMissesAStage(t *testing.T) {
	type state int
	const (
		none state = iota
		running
		done
	)
	name := [...]string{"none", "running", "done"}
	ch := func(s state) chan struct{} {
		c := make(chan struct{})
		if s == done {
			close(c)
		}
		return c
	}
	for _, pr := range []state{none, running, done} {
		for _, wr := range []state{none, running, done} {
			p := &pipeline{}
			if pr != none {
				p.projecting = &projecting{done: ch(pr)}
			}
			if wr != none {
				p.writing = &writing{done: ch(wr)}
			}
			got := p.wake()
			switch {
			case pr == none && wr == none:
				if got != nil {
					t.Errorf("applying %s, writing %s: a wake channel with nothing in flight", name[pr], name[wr])
				}
			case pr == done && wr != running, wr == done && pr == none:
				// Something to move on (an applied batch) or to settle (a
				// rebalance may be allowed): the poll must end at once.
				if got == nil || !closed(got) {
					t.Errorf("applying %s, writing %s: the poll would wait although the loop has work", name[pr], name[wr])
				}
			default:
				// The batch ahead is still under way: the poll waits for it.
				want := p.writing
				if wr != running {
					want = nil
				}
				switch {
				case got == nil:
					t.Errorf("applying %s, writing %s: no wake channel while a batch is in flight", name[pr], name[wr])
				case want != nil && got != (<-chan struct{})(want.done):
					t.Errorf("applying %s, writing %s: wakes on the batch applied, not the one being written it must wait for", name[pr], name[wr])
				case closed(got):
					t.Errorf("applying %s, writing %s: the poll ends at once with nothing to do (a busy loop)", name[pr], name[wr])
				}
			}
		}
	}
}
