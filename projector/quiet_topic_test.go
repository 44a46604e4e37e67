package projector_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

// jitterSink announces every doc it is given, after a random busy while
// (0-40µs) that spreads the moments at which writes end.
type jitterSink struct{ got chan string }

func (s *jitterSink) Name() string { return "jitter" }
func (s *jitterSink) Write(_ context.Context, docs []sinks.Doc) error {
	d := time.Duration(rand.IntN(40_000))
	for start := time.Now(); time.Since(start) < d; {
	}
	for _, d := range docs {
		s.got <- d.ID
	}
	return nil
}

// TestBurstsWrittenOnAQuietTopic: bursts of records, one batch each, and
// every burst is written without another record arriving after it, however
// the stages' ends fall (the sink's writes take a random while). A stage
// ending between the loop's checks once left it polling for records that
// did not come, the applied batch unwritten (TestWakeNeverMissesAStage
// pins the rule down; this drives the real loop).
func TestBurstsWrittenOnAQuietTopic(t *testing.T) {
	k := newOwnKafka(t, 1)
	_, plan := loadPlan(t, widgetsYAML, env("BROKERS", brokers(k.cluster), "PG", "postgres://unused", "REDIS", "redis://unused", "PREFIX", ""))
	sink := &jitterSink{got: make(chan string, 1000)}
	var views []string
	for _, v := range plan.Views {
		views = append(views, v.Name)
	}
	eng, err := projector.New(projector.Options{Plan: plan, Memory: true, Sinks: []projector.Route{{Sink: sink, Views: views}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	m := k.member(t, ctx, eng, "wake", "a", 1)
	n := 0
	for round := 1; round <= 3000; round++ {
		burst := 1 + round%3
		want := map[string]bool{}
		for range burst {
			n++
			id := fmt.Sprintf("w%d", n)
			want[id] = true
			k.widget(t, id, 0)
		}
		deadline := time.NewTimer(5 * time.Second)
		for len(want) > 0 {
			select {
			case got := <-sink.got:
				delete(want, got)
			case err := <-m.done:
				t.Fatalf("consumer stopped: %v", err)
			case <-deadline.C:
				t.Fatalf("round %d: %v of a quiet topic still not written 5s after they were produced (committed offset %d of %d): an applied batch waits for a record that does not come", round, want, k.committed("wake", 0), n)
			}
		}
		deadline.Stop()
	}
}
