package registry

import (
	"context"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestLateHeartbeatDoesNotBringADeregisteredInstanceBack: a stopping
// instance's last heartbeat may still run on the server after its client
// gave up on it and the instance deregistered; it must not make the
// instance live again, or a rebuild right after the stop waits for it, or
// refuses for the definition it had.
func TestLateHeartbeatDoesNotBringADeregisteredInstanceBack(t *testing.T) {
	ctx := context.Background()
	pool, _ := testenv.Postgres(t)
	r := New(pool, "")
	if err := r.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	defs := map[string]string{"v": "fingerprint"}
	for _, id := range []string{"stopping", "running"} {
		if err := r.Heartbeat(ctx, id, "host", 1, 0, nil, defs); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Deregister(ctx, "stopping"); err != nil {
		t.Fatal(err)
	}
	if err := r.Heartbeat(ctx, "stopping", "host", 1, 0, nil, defs); err != nil { // the late one
		t.Fatal(err)
	}
	live, err := r.Instances(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(live) != 1 || live[0].ID != "running" {
		t.Errorf("live instances after one deregistered and its late heartbeat: %+v, want only %q", live, "running")
	}
	if err := r.Heartbeat(ctx, "running", "host", 1, 0, nil, defs); err != nil {
		t.Fatal(err)
	}
	if live, err = r.Instances(ctx, time.Minute); err != nil || len(live) != 1 {
		t.Errorf("a live instance's next heartbeat: %+v, %v; want it live", live, err)
	}
}
