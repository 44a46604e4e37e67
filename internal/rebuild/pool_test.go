package rebuild

import (
	"testing"

	"github.com/projectorhq/projector/internal/stack"
)

// TestEnvPoolMaxConns: a rebuild's PostgreSQL pool is capped as the
// daemon's is, not sized by pgx from the node's CPUs.
func TestEnvPoolMaxConns(t *testing.T) {
	f := newFixture(t)
	env := f.openEnv()
	if got := env.Pool.Config().MaxConns; got != stack.DefaultPoolMaxConns {
		t.Errorf("MaxConns = %d, want %d", got, stack.DefaultPoolMaxConns)
	}
}
