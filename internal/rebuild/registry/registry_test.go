package registry

import (
	"slices"
	"testing"
	"time"
)

func ptr(t time.Time) *time.Time { return &t }

// A view rebuilt twice: generation 2 (--keep 0) covered both stores,
// generation 3 (--keep 1h) only Elasticsearch, generation 4 is being built
// for PostgreSQL. Generation 2 still serves PostgreSQL, so it has no
// DropAfter yet.
func history() Snapshot {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return Snapshot{Version: 9, Generations: []Generation{
		{View: "v", Number: 1, State: Retired, Stores: []string{StorePostgres, StoreElasticsearch},
			Targets:   map[string]string{StorePostgres: `"public"."v__g1"`, StoreElasticsearch: "v-g1"},
			SwappedAt: ptr(t0), DropAfter: ptr(t0.Add(time.Hour)), Dropped: []string{StorePostgres}},
		{View: "v", Number: 2, State: Retired, Stores: []string{StorePostgres, StoreRedis, StoreElasticsearch},
			Targets:   map[string]string{StorePostgres: `"public"."v__g2"`, StoreElasticsearch: "v-g2"},
			SwappedAt: ptr(t0.Add(time.Hour))},
		{View: "v", Number: 3, State: Active, Stores: []string{StoreElasticsearch}, Keep: time.Hour,
			Targets: map[string]string{StoreElasticsearch: "v-g3"}, SwappedAt: ptr(t0.Add(2 * time.Hour))},
		{View: "v", Number: 4, State: Building, Stores: []string{StorePostgres},
			Targets: map[string]string{StorePostgres: `"public"."v__g4"`}},
		{View: "w", Number: 1, State: Active, Stores: []string{StorePostgres}, SwappedAt: ptr(t0)},
	}}
}

func TestServingAndNext(t *testing.T) {
	s := history()
	for _, c := range []struct {
		view, store string
		want        int
	}{
		{"v", StorePostgres, 2},      // generation 3 did not cover PostgreSQL
		{"v", StoreElasticsearch, 3}, // the newest swapped in
		{"w", StorePostgres, 1},
		{"never", StorePostgres, 1}, // no rebuild yet: the daemon's generation 1
	} {
		if got := s.Serving(c.view, c.store); got != c.want {
			t.Errorf("Serving(%s, %s) = %d, want %d", c.view, c.store, got, c.want)
		}
	}
	if n := s.Next("v"); n != 5 {
		t.Errorf("Next(v) = %d, want 5", n)
	}
	if n := s.Next("never"); n != 2 {
		t.Errorf("Next(never) = %d, want 2", n)
	}
	if g, ok := s.Building("v"); !ok || g.Number != 4 {
		t.Errorf("Building(v) = %d %v, want 4", g.Number, ok)
	}
	if _, ok := s.Building("w"); ok {
		t.Errorf("Building(w) found one")
	}
}

func TestDroppable(t *testing.T) {
	s := history()
	names := func(ts []Target) []string {
		var out []string
		for _, t := range ts {
			out = append(out, t.Name)
		}
		slices.Sort(out)
		return out
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		now  time.Time
		want []string
	}{
		// Before any grace period is over: nothing.
		{t0.Add(30 * time.Minute), nil},
		// Generation 1's index (its table is dropped already); generation 2's
		// table is still served, and its grace is not over anyway.
		{t0.Add(2 * time.Hour), []string{"v-g1"}},
		// Generation 2's index too; never the table readers see, nor the
		// building or active generations' targets.
		{t0.Add(4 * time.Hour), []string{"v-g1", "v-g2"}},
		// The zero time ignores grace periods.
		{time.Time{}, []string{"v-g1", "v-g2"}},
	} {
		if got := names(s.Droppable("v", c.now)); !slices.Equal(got, c.want) {
			t.Errorf("Droppable at %s = %v, want %v", c.now, got, c.want)
		}
	}
}

// TestDroppableCountsGraceFromReplacementInStore: a rebuild of Redis only
// retires generation 1 while its table still serves PostgreSQL; the table's
// grace period starts when a later rebuild replaces it there, and lasts
// that rebuild's --keep.
func TestDroppableCountsGraceFromReplacementInStore(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := Snapshot{Generations: []Generation{
		{View: "v", Number: 1, State: Retired, Stores: []string{StorePostgres, StoreRedis},
			Targets: map[string]string{StorePostgres: `"public"."v__g1"`}, SwappedAt: ptr(t0)},
		{View: "v", Number: 2, State: Retired, Stores: []string{StoreRedis}, Targets: map[string]string{},
			SwappedAt: ptr(t0.Add(time.Hour)), DropAfter: ptr(t0.Add(5 * time.Hour))},
		{View: "v", Number: 3, State: Active, Stores: []string{StorePostgres}, Keep: 4 * time.Hour,
			Targets: map[string]string{StorePostgres: `"public"."v__g3"`}, SwappedAt: ptr(t0.Add(5 * time.Hour))},
	}}
	for _, c := range []struct {
		now  time.Time
		want int
	}{
		{t0.Add(6 * time.Hour), 0}, // replaced an hour ago, --keep 4h
		{t0.Add(9 * time.Hour), 1},
	} {
		if got := s.Droppable("v", c.now); len(got) != c.want {
			t.Errorf("Droppable at %s = %v, want %d target(s)", c.now, got, c.want)
		}
	}
	// Before generation 3 the table is served: never droppable.
	s.Generations = s.Generations[:2]
	if got := s.Droppable("v", t0.Add(100*time.Hour)); len(got) != 0 {
		t.Errorf("Droppable while generation 1 serves PostgreSQL = %v", got)
	}
}
