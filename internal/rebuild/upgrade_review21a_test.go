package rebuild

import (
	"context"
	"testing"

	"github.com/projectorhq/projector/internal/definition"
)

// TestR21aRollingUpgradeOldInstanceSameFile: during a rolling upgrade an
// instance of the previous version (b99c241) runs this very file. That
// version's heartbeat carries DocumentsFingerprint as it computed it then:
// with every sink left out (the PostgreSQL table was added to it since).
// A rebuild with the same file must not take it for another definition.
func TestR21aRollingUpgradeOldInstanceSameFile(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	d := f.startDaemon()
	f.seed(d, 1, 10)

	env := f.openEnv()
	old := map[string]string{}
	for name, def := range definition.All(env.Config, env.Plan) {
		def.Sinks = definition.Sinks{} // b99c241's DocumentsFingerprint,
		def.Reads = nil                // of a Definition without Reads
		old[name] = def.Fingerprint()
	}
	// The old instance, caught up with every registry version.
	if err := env.Registry.Heartbeat(ctx, "r21a-old-instance", "old-host", 4242, 1<<40, nil, old); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(ctx, env, Options{View: "item_view", Keep: 0}); err != nil {
		t.Fatalf("rebuild with the same file while an instance of the previous version runs it: %v", err)
	}
}
