package redis

import (
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks"
)

// TestDiffer: a doc whose stored value is what Write stores for it does
// not differ, whatever the order of its JSON members; one whose value was
// changed behind the sink does, unless a newer revision was written since;
// a hash compares field by field.
func TestDiffer(t *testing.T) {
	client, prefix := testenv.Redis(t)
	s := newSink(t, client, prefix,
		View{Name: "j", Key: prefix + "j:{id}"},
		View{Name: "h", Key: prefix + "h:{id}", Format: FormatHash})
	ctx := t.Context()
	docs := []sinks.Doc{
		doc("j", 1, 5, map[string]any{"a": "x", "n": 1}),
		doc("h", 1, 5, map[string]any{"a": "x", "n": 1}),
		doc("j", 2, 5, map[string]any{"a": "y"}),
	}
	write(t, s, docs...)
	differs := func(what string, want ...int) {
		t.Helper()
		got, err := s.Differ(ctx, docs)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: differ %v, want docs %v", what, got, want)
		}
		for _, i := range want {
			if _, ok := got[i]; !ok {
				t.Fatalf("%s: differ %v, want docs %v", what, got, want)
			}
		}
	}
	differs("as written")

	if err := client.Set(ctx, prefix+"j:1", `{"n":1,"a":"x"}`, 0).Err(); err != nil {
		t.Fatal(err)
	}
	differs("members in another order")

	if err := client.Set(ctx, prefix+"j:1", `{"n":2,"a":"x"}`, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := client.HSet(ctx, prefix+"h:1", "n", "2").Err(); err != nil {
		t.Fatal(err)
	}
	if err := client.Del(ctx, prefix+"j:2").Err(); err != nil {
		t.Fatal(err)
	}
	differs("changed behind the sink", 0, 1, 2)

	write(t, s, doc("j", 1, 6, map[string]any{"a": "newer"}))
	differs("written again since", 1, 2)
}
