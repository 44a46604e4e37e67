package projector_test

import (
	"context"
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// TestR29wConflictFreedOnOtherInstance: two members of one group share the
// state and the stores (a unique index on the view's title). Member A takes
// the title "beta" for w1 while w2 still holds it: refused for a conflict
// and kept in A's memory to be written again. Member B (w2's partition)
// then moves w2 away from "beta". The stream is quiet afterwards. One
// member alone ends with w1 = beta (its batch that frees the value retries
// the conflict); with two, nothing ever writes w1 again: A only retries
// after a batch of its own, and B never knew of the conflict.
func TestR29wConflictFreedOnOtherInstance(t *testing.T) {
	pool, pgURL := testenv.Postgres(t)
	_, prefix := testenv.Redis(t)
	kc := newCluster(t, 1, "cqrs.public.widgets") // the configuration needs brokers; nothing is consumed
	yaml := strings.Replace(widgetsYAML, "postgres: { table: widget_view }", "postgres: { table: widget_view, indexes: [{ fields: [title], unique: true }] }", 1)
	cfg, plan := loadPlan(t, yaml, env("BROKERS", brokers(kc), "PG", pgURL, "REDIS", testenv.RedisURL(t), "PREFIX", prefix))
	ctx := context.Background()
	var engines [2]*projector.Engine
	for i := range engines {
		st, err := stack.Wire(ctx, cfg, plan, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(st.Close)
		engines[i] = st.Engine
	}
	off := int64(0)
	rec := func(key string, value []byte) projector.Record {
		r := widgetRecord(key, value)
		off++
		return projector.Record{Topic: r.Topic, Offset: off, Key: r.Key, Value: r.Value}
	}
	a, b := engines[0], engines[1]
	if _, err := a.Process(ctx, []projector.Record{rec("w1", widgetAt(t, "w1", "alpha", 100))}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Process(ctx, []projector.Record{rec("w2", widgetAt(t, "w2", "beta", 200))}); err != nil {
		t.Fatal(err)
	}
	// A: w1 takes beta, refused (w2 holds it).
	if _, err := a.Process(ctx, []projector.Record{rec("w1", widgetAt(t, "w1", "beta", 300))}); err != nil {
		t.Fatal(err)
	}
	// B: w2 gives beta up. Then the stream is quiet.
	if _, err := b.Process(ctx, []projector.Record{rec("w2", widgetAt(t, "w2", "gamma", 400))}); err != nil {
		t.Fatal(err)
	}
	// Both members are idle now and have recovered whatever was pending.
	for _, e := range engines {
		if err := e.Recover(ctx); err != nil {
			t.Fatal(err)
		}
	}
	wantRows(t, pool, map[string]widget{"w1": {"beta", true}, "w2": {"gamma", true}})
}
