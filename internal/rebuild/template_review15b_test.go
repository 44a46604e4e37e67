package rebuild

import (
	"context"
	"testing"
)

// TestR15bShortenedKeyTemplateLeaksOldKeys: the view's Redis key template
// goes from "item:v1:{id}" to "item:{id}" (a version segment dropped, or a
// change rolled back). README: "when the view's Redis key changed in the
// configuration the keys of the old template ... are purged with their
// revisions and index entries". The ids are bigints: no document of the
// new template can have the key item:v1:<n>, yet the purge spares every
// old key because the new template's placeholder "could" match "v1:<n>",
// and then forgets the template, so no later rebuild purges them either.
func TestR15bShortenedKeyTemplateLeaksOldKeys(t *testing.T) {
	f := newFixture(t)
	f.setRedisKeys(map[string]string{"item_view": "item:v1:{id}"})
	d := f.startDaemon()
	f.seed(d, 1, 30)
	d.stop()
	ctx := context.Background()
	if old, err := f.rdb.Keys(ctx, f.prefix+"item:v1:*").Result(); err != nil || len(old) != 30 {
		t.Fatalf("keys under the old template: %d (%v), want 30", len(old), err)
	}

	f.setRedisKeys(map[string]string{"item_view": "item:{id}"})
	env := f.openEnv()
	if _, err := Run(ctx, env, Options{View: "item_view", Keep: 0}); err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	for pattern, want := range map[string]int{
		f.prefix + "item:v1:*": 0, "projector:rev:{" + f.prefix + "item:v1:*": 0,
	} {
		if keys, err := f.rdb.Keys(ctx, pattern).Result(); err != nil || len(keys) != want {
			t.Errorf("%s: %d keys after the rebuild (%v), want %d: the old template's keys were not purged", pattern, len(keys), err, want)
		}
	}
	templates, err := env.Registry.RedisTemplates(ctx, "item_view")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := f.rdb.Exists(ctx, f.prefix+"item:v1:1").Result(); n > 0 && len(templates) == 1 {
		t.Errorf("old key %sitem:v1:1 stays while the old template is forgotten (templates %q): no later rebuild will purge it", f.prefix, templates)
	}
}
