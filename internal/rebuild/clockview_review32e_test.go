package rebuild

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestR32eSnapshotVerifyOfAClockViewInRedis: bbe623d verifies a view
// whose expressions call now() by revision (redisChecker.checkRevs: a doc
// is right when its stored revision is at least docs[i].Rev, and Rev must
// be above 0). The snapshot verification (the default with a PostgreSQL
// store) checks Redis for presence with the documents read from the new
// table (presence → tableDocs), which carry no revision: every document
// of a correct generation is "stored at revision N, the state's is 0", a
// suspect, and goes through settle, which recomputes each. A quiet stream
// has nothing in flight, so a correct generation has nothing to settle:
// the control (the same view without now()) swaps with a VerifyTimeout of
// a nanosecond, the clock view is refused. With more than maxSuspects
// (100,000) documents the clock view is refused whatever the timeout
// ("more than 100000 documents differ from the state").
func TestR32eSnapshotVerifyOfAClockViewInRedis(t *testing.T) {
	for _, c := range []struct{ name, fields string }{
		{"control", `fields: { id: id, name: name, qty: qty }`},
		{"now()", `refresh: 1h
    fields: { id: id, name: name, qty: qty, computed_at: { expr: "now()", type: timestamptz } }`},
	} {
		t.Run(c.name, func(t *testing.T) {
			yaml := strings.Replace(itemsYAML, "fields: { id: id, name: name, qty: qty }", c.fields, 1)
			f := newFixtureYAML(t, yaml, "", "")
			d := f.startDaemon()
			defer d.stop()
			f.seed(d, 1, 20)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if _, err := Run(ctx, f.openEnv(), Options{View: "item_view", Keep: 0, VerifyTimeout: time.Nanosecond}); err != nil {
				t.Fatalf("the rebuild of a correct generation on a quiet stream did not swap: %v", err)
			}
		})
	}
}
