package projector

import (
	"errors"
	"testing"
)

// TestReportHealthKeepsWriteFailures: a check from outside that finds a
// store answering does not clear the failure its writes report, and the
// write that succeeds does not clear what the check found.
func TestReportHealthKeepsWriteFailures(t *testing.T) {
	e := &Engine{health: newHealth()}
	e.health.set("redis", errors.New("write failed"))
	e.ReportHealth("redis", nil)
	if _, bad := e.Problems()["redis"]; !bad {
		t.Errorf("a ping cleared a failing write: %v", e.Problems())
	}
	e.health.set("redis", nil)
	if p := e.Problems(); len(p) != 0 {
		t.Errorf("problems after the write succeeded: %v", p)
	}
	e.ReportHealth("redis", errors.New("does not answer"))
	e.health.set("redis", nil)
	if _, bad := e.Problems()["redis"]; !bad {
		t.Errorf("a write cleared what the ping found: %v", e.Problems())
	}
	e.ReportHealth("redis", nil)
	if p := e.Problems(); len(p) != 0 {
		t.Errorf("problems after the ping succeeded: %v", p)
	}
}
