package cli

import (
	"testing"
	"time"
)

// TestR37bSecondSignalExitsAtOnceWhilePostgresHangs: README, Commands and
// Operations (Stopping): "A second signal exits at once with status 1:
// what was not committed is consumed again on restart." The query
// PostgreSQL hangs (its host froze, or a partition drops its packets: the
// connections stay open and nothing answers) while the daemon is idle;
// /readyz names the state as failing first.
//
// Found by review 37b: runDaemon then waited 5s for the rebuild watcher to
// deregister the instance and then for the pool to close, which waited on
// pgxpool's background ping of an idle connection (no PingTimeout): it had
// not returned 90s after the second signal. The rig is stop_hungpg_test.go's.
func TestR37bSecondSignalExitsAtOnceWhilePostgresHangs(t *testing.T) {
	d, _ := hungDaemon(t)
	// The daemon talks to the hung PostgreSQL (the watcher's heartbeat
	// every 2s, the store probes every 5s): /readyz names it.
	d.readyz(t, 503, `"state"`)
	close(d.stop) // first signal
	d.cancel()    // second signal: exit at once
	d.returnsWithin(t, 3*time.Second, "the second signal")
}
