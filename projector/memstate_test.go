package projector_test

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"sync"
	"testing"

	"github.com/projectorhq/projector/internal/shop"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

// viewSink remembers the newest doc per view and id.
type viewSink struct {
	mu   sync.Mutex
	docs map[string]sinks.Doc // "view/id"
}

func (s *viewSink) Name() string { return "views" }
func (s *viewSink) Write(_ context.Context, docs []sinks.Doc) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range docs {
		k := d.View + "/" + d.ID
		if old, ok := s.docs[k]; !ok || old.Rev < d.Rev {
			s.docs[k] = d
		}
	}
	return nil
}

func shopPlan(t *testing.T) *projections.Plan {
	t.Helper()
	raw, err := os.ReadFile("../examples/shop/projector.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, plan := loadPlan(t, string(raw), env("PROJECTOR_POSTGRES_URL", "postgres://unused"))
	return plan
}

func viewNames(plan *projections.Plan) []string {
	var out []string
	for _, v := range plan.Views {
		out = append(out, v.Name)
	}
	return out
}

// TestMemoryStateMatchesPostgres runs the same shop workload through an
// engine on PostgreSQL and one in memory: every doc of every view, with its
// revision, must come out the same.
func TestMemoryStateMatchesPostgres(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	plan := shopPlan(t)
	ctx := context.Background()

	pgSink := &viewSink{docs: map[string]sinks.Doc{}}
	pgEng := newEngine(t, pool, plan, pgSink, nil)
	memSink := &viewSink{docs: map[string]sinks.Doc{}}
	memEng, err := projector.New(projector.Options{Plan: plan, Memory: true,
		Sinks: []projector.Route{{Sink: memSink, Views: viewNames(plan)}}})
	if err != nil {
		t.Fatal(err)
	}

	gen := shop.New(7)
	msgs := append(gen.Snapshot(40, 15, 150, 3), gen.Changes(3000)...)
	for start := 0; start < len(msgs); start += 97 {
		var batch []projector.Record
		for i, m := range msgs[start:min(start+97, len(msgs))] {
			batch = append(batch, projector.Record{Topic: m.Topic, Offset: int64(start + i), Key: m.Key, Value: m.Value})
		}
		for _, eng := range []*projector.Engine{pgEng, memEng} {
			dead, err := eng.Process(ctx, batch)
			if err != nil {
				t.Fatal(err)
			}
			if len(dead) > 0 {
				t.Fatalf("dead letters: %v", dead[0].Err)
			}
		}
	}

	if len(pgSink.docs) < 100 {
		t.Fatalf("only %d docs: the workload is too small to compare anything", len(pgSink.docs))
	}
	deleted := 0
	for k, want := range pgSink.docs {
		got, ok := memSink.docs[k]
		if !ok {
			t.Errorf("%s: missing from the memory engine", k)
			continue
		}
		if want.Deleted {
			deleted++
		}
		// Revisions are compared for presence only: PostgreSQL's come from
		// the clock (see revisions.go), the memory state's count.
		if got.Deleted != want.Deleted || (got.Rev > 0) != (want.Rev > 0) || canonical(t, got.Fields) != canonical(t, want.Fields) {
			t.Errorf("%s:\nmemory   rev %d deleted %v %s\npostgres rev %d deleted %v %s",
				k, got.Rev, got.Deleted, canonical(t, got.Fields), want.Rev, want.Deleted, canonical(t, want.Fields))
		}
	}
	for k := range memSink.docs {
		if _, ok := pgSink.docs[k]; !ok {
			t.Errorf("%s: only in the memory engine", k)
		}
	}
	if deleted == 0 {
		t.Errorf("no deleted docs: the workload does not exercise deletes")
	}

	// Rebuild listing walks the same ids.
	for _, v := range plan.Views {
		a := allDocIDs(t, pgEng, v.Name)
		b := allDocIDs(t, memEng, v.Name)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("DocIDs of %s: memory %d ids, postgres %d", v.Name, len(b), len(a))
		}
	}
}

func allDocIDs(t *testing.T, eng *projector.Engine, view string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	after := ""
	for {
		ids, last, err := eng.DocIDs(context.Background(), view, after, 50)
		if err != nil {
			t.Fatal(err)
		}
		for id := range ids {
			out[id] = true
		}
		if last == "" {
			return out
		}
		after = last
	}
}

func canonical(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
