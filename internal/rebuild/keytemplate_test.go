package rebuild

import (
	"context"
	"slices"
	"testing"
)

// templates lists the Redis key templates recorded for item_view.
func (f *fixture) templates(env *Env) []string {
	f.t.Helper()
	got, err := env.Registry.RedisTemplates(context.Background(), "item_view")
	if err != nil {
		f.t.Fatal(err)
	}
	return got
}

// TestOldTemplateKeyWrittenAfterPurgeLeaks: the view's Redis key template
// changes in the configuration; the rebuild (new configuration) runs while
// a daemon still runs the old one (a rolling change: rebuild, then restart
// the daemons). The rebuild purges the keys of the old template but keeps
// it recorded, since a live instance still writes with it (every heartbeat
// records it). The key that daemon writes after the purge is purged by the
// next rebuild, once the daemons run the new configuration, which forgets
// the template.
func TestOldTemplateKeyWrittenAfterPurgeLeaks(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	d := f.startDaemon() // template item:{id}
	f.seed(d, 1, 3)

	f.setRedisKeys(map[string]string{"item_view": "thing:{id}"})
	env := f.openEnv()
	if _, err := Run(ctx, env, Options{View: "item_view", Keep: 0}); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.rdb.Exists(ctx, f.prefix+"item:1").Result(); n != 0 {
		t.Fatalf("the rebuild did not purge the old key")
	}
	if got := f.templates(env); !slices.Contains(got, f.prefix+"item:{id}") {
		t.Errorf("templates after the purge: %q; the old one, which a live daemon writes with, is forgotten", got)
	}
	// The old daemon, still on the old configuration, applies a change.
	if err := d.apply(ctx, map[int64]*item{1: {Name: "written by the old daemon", Qty: 7}}); err != nil {
		t.Fatal(err)
	}
	d.stop()
	// The daemons restart with the new configuration; another rebuild runs.
	f.startDaemon()
	if _, err := Run(ctx, env, Options{View: "item_view", Keep: 0}); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.rdb.Exists(ctx, f.prefix+"item:1").Result(); n != 0 {
		v, _ := f.rdb.Get(ctx, f.prefix+"item:1").Result()
		t.Errorf("key %sitem:1 of the old template stays after a later rebuild: %s", f.prefix, v)
	}
	if got := f.templates(env); !slices.Equal(got, []string{f.prefix + "thing:{id}"}) {
		t.Errorf("templates after the second rebuild: %q, want only the new one", got)
	}
}

// TestOldTemplateNotedDuringPurgeStaysRecorded: no live instance writes
// with the old template when the purge begins, but a daemon on the old
// configuration starts while the purge runs, writes a key the purge has
// passed, and stops, all before the rebuild decides whether to forget the
// template. It noted the template after the purge began, so the template
// stays recorded and the next rebuild purges that key.
func TestOldTemplateNotedDuringPurgeStaysRecorded(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	d := f.startDaemon() // template item:{id}
	f.seed(d, 1, 3)
	d.stop()

	f.setRedisKeys(map[string]string{"item_view": "thing:{id}"})
	env := f.openEnv()
	late := func(ctx context.Context, template string) error {
		if template != f.prefix+"item:{id}" {
			t.Errorf("purged template %q", template)
		}
		if n, _ := f.rdb.Exists(ctx, f.prefix+"item:1").Result(); n != 0 {
			t.Errorf("the purge left %sitem:1", f.prefix)
		}
		f.setRedisKeys(map[string]string{"item_view": "item:{id}"})
		old := f.startDaemon()
		f.setRedisKeys(map[string]string{"item_view": "thing:{id}"})
		old.lsn = d.lsn // after the changes the first daemon applied
		defer old.stop()
		return old.apply(ctx, map[int64]*item{1: {Name: "written by a late daemon", Qty: 7}})
	}
	if _, err := Run(ctx, env, Options{View: "item_view", Keep: 0, afterPurge: late}); err != nil {
		t.Fatal(err)
	}
	if v, _ := f.rdb.Get(ctx, f.prefix+"item:1").Result(); v == "" {
		t.Fatalf("the late daemon wrote no %sitem:1", f.prefix)
	}
	if got := f.templates(env); !slices.Contains(got, f.prefix+"item:{id}") {
		t.Fatalf("templates after the purge: %q; the old one, noted during the purge, is forgotten", got)
	}

	f.startDaemon()
	if _, err := Run(ctx, env, Options{View: "item_view", Keep: 0}); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.rdb.Exists(ctx, f.prefix+"item:1").Result(); n != 0 {
		t.Errorf("key %sitem:1 of the old template stays after a later rebuild", f.prefix)
	}
	if got := f.templates(env); !slices.Equal(got, []string{f.prefix + "thing:{id}"}) {
		t.Errorf("templates after the second rebuild: %q, want only the new one", got)
	}
}
