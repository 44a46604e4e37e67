package rebuild

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/projectorhq/projector/sinks/elasticsearch/esfake"
)

// TestR26aRetiredPurgeStopsHeartbeat: a daemon's tombstone purge of the
// served index is in flight (a long purge: the first one after the
// upgrade that made daemons purge at all goes through every tombstone
// ever written) when a rebuild swaps to generation 2 with a --wait
// longer than InstanceTTL (the default is 1m) and --keep 0s. The watcher
// waits, inside sync, for the retired guard to be idle, and sends no heartbeat meanwhile: after
// InstanceTTL the daemon no longer counts as live, the rebuild's
// WaitApplied stops waiting for it and drops items-g1 under the purge, and
// the purge's deletes then make items-g1 again, recorded as dropped. The
// heartbeat must go on (with the version applied before) while a retired
// guard is busy.
func TestR26aRetiredPurgeStopsHeartbeat(t *testing.T) {
	es := esfake.New()
	h := &r25aHoldingES{es: es, hold: "items-g1", reached: make(chan struct{}), release: make(chan struct{})}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(h.release) }) }
	t.Cleanup(release)

	f := newFixtureWith(t, "", ts.URL)
	d := f.startDaemon()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	f.seed(d, 1, 20)
	if err := d.apply(ctx, map[int64]*item{3: nil, 4: nil}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "tombstones older than a millisecond", 10*time.Second, func() bool {
		esGet(t, ts.URL+"/items-g1/_refresh")
		return strings.Contains(esGet(t, ts.URL+"/items-g1/_count?q=_deleted:true"), `"count":2`)
	})
	start := time.Now()
	waitFor(t, "a millisecond", time.Second, func() bool { return time.Since(start) > 2*time.Millisecond })

	type result struct {
		n   int64
		err error
	}
	purged := make(chan result, 1)
	go func() {
		n, err := d.st.Engine.PurgeSinkTombstones(ctx, 0)
		purged <- result{n, err}
	}()
	select {
	case <-h.reached:
	case r := <-purged:
		t.Fatalf("the purge ended (%d, %v) without deleting from items-g1", r.n, r.err)
	case <-ctx.Done():
		t.Fatal("the purge never deleted from items-g1")
	}

	env := f.openEnv()
	// A --wait past InstanceTTL (the command line's default is 1m).
	res, err := Run(ctx, env, Options{View: "item_view", Keep: 0, WaitTimeout: InstanceTTL + 5*time.Second})
	if err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	if res.Generation != 2 {
		t.Fatalf("rebuild built generation %d, want 2", res.Generation)
	}
	live, err := env.Registry.Instances(ctx, InstanceTTL)
	if err != nil {
		t.Fatal(err)
	}
	alive := false
	for _, i := range live {
		alive = alive || i.ID == d.watcher.ID()
	}
	dropped := strings.Contains(esGet(t, ts.URL+"/items-g1"), "index_not_found_exception")

	release()
	r := <-purged
	t.Logf("purge: %d deleted, err %v", r.n, r.err)
	if !alive {
		t.Errorf("the daemon, running all along, stopped heartbeating while a purge on the target it retired was in flight: no longer a live instance after the rebuild (which then dropped items-g1 under it: %v)", dropped)
	}
	if dropped {
		if got := esGet(t, ts.URL+"/items-g1"); !strings.Contains(got, "index_not_found_exception") {
			t.Errorf("items-g1, dropped by the rebuild while the daemon's purge was in flight, exists again: %.160s", got)
		}
	}
}
