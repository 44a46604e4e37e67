package cli

import (
	"errors"
	"strings"
	"testing"
)

// TestQueryAPIFailureIsAProblem: a `run --serve` whose query API stopped
// serving goes on projecting but is not ready, and /readyz says why.
func TestQueryAPIFailureIsAProblem(t *testing.T) {
	var d daemonState
	p := map[string]string{}
	d.queryProblem(p)
	if len(p) != 0 {
		t.Fatalf("problems with the query API serving: %v", p)
	}
	err := errors.New("accept tcp 127.0.0.1:8080: use of closed network connection")
	d.queryFailed.Store(&err)
	d.queryProblem(p)
	if got := p["query api"]; !strings.Contains(got, "stopped serving") || !strings.Contains(got, "closed network connection") {
		t.Fatalf(`problems["query api"] = %q, want why it stopped serving`, got)
	}
}
