package postgres

import (
	"sync"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks"
)

// Two instances starting together with an index added to existing tables
// of two views: both Migrate without error, each table gets exactly one
// valid index per declaration.
func TestTwoInstancesAddIndexTogether(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	a, b := emailsView("people"), emailsView("others")
	b.Name = "w"
	a.Indexes, b.Indexes = nil, nil
	s := newSink(t, pool, a, b)
	docs := []sinks.Doc{person(1, 1, "a@x"), person(2, 1, "b@x")}
	if err := s.Write(t.Context(), docs); err != nil {
		t.Fatal(err)
	}
	a.Indexes = []Index{{Fields: []string{"email"}, Unique: true}, {Fields: []string{"name"}}}
	b.Indexes = a.Indexes
	for round := 0; round < 3; round++ {
		var wg sync.WaitGroup
		errs := make([]error, 3)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := New(pool, []View{a, b})
				if err == nil {
					err = s.Migrate(t.Context())
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("round %d instance %d: %v", round, i, err)
			}
		}
		for _, tbl := range []string{"people__g1", "others__g1"} {
			if got := indexNames(t, pool, tbl); len(got) != 2 {
				t.Errorf("table %s has indexes %v, want 2", tbl, got)
			}
			var invalid int
			if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM pg_index WHERE indrelid = $1::regclass AND NOT indisvalid", tbl).Scan(&invalid); err != nil || invalid != 0 {
				t.Errorf("table %s: %d invalid indexes (%v)", tbl, invalid, err)
			}
		}
		exec(t, pool, "DROP INDEX "+quote(indexName("people__g1", a.Indexes[1])))
	}
}
