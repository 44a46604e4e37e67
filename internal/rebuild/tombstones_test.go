package rebuild

import (
	"context"
	"testing"
	"time"
)

// TestReplayAfterTombstoneCollection: item 7 was created, then deleted;
// its tombstone is older than state.tombstone_retention and the collector
// removed it. The topic still holds both records (its retention is by
// record time and segment, not by when the delete was applied). A rebuild
// --from kafka replays the topic from its earliest offset through the live
// routes: the create must not bring item 7 back into the state or the
// served generation, even for the replay batches before its delete.
func TestReplayAfterTombstoneCollection(t *testing.T) {
	f, h := newKafkaHistory(t, 1)
	ctx := context.Background()
	// Item 7 first; then more records than one replay poll (5,000) takes;
	// then item 7's delete.
	h.step(map[int64]*item{7: {Name: "seven", Qty: 7}})
	for from := int64(100); from < 100+5000; from += 500 {
		batch := map[int64]*item{}
		for id := from; id < from+500; id++ {
			batch[id] = &item{Name: "filler", Qty: id}
		}
		h.step(batch)
	}
	h.step(map[int64]*item{7: nil})
	h.publish()

	// The delete was applied eight days ago; the collector (7d) takes it.
	if _, err := f.pool.Exec(ctx, `UPDATE projector.state_items SET updated_at = now() - interval '8 days' WHERE key = '7' AND deleted`); err != nil {
		t.Fatal(err)
	}
	n, err := h.d.st.Engine.CollectTombstones(ctx, 7*24*time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("collected %d tombstones (%v), want item 7's", n, err)
	}

	// Every write of a live item 7 to the generation readers are served.
	served := f.readerTable()
	if _, err := f.pool.Exec(ctx, `CREATE TABLE public.seen_live (id bigint, deleted boolean);
		CREATE FUNCTION public.seen_live() RETURNS trigger LANGUAGE plpgsql AS
		$$ BEGIN INSERT INTO public.seen_live VALUES (NEW.id, NEW._deleted); RETURN NEW; END $$;
		CREATE TRIGGER seen_live AFTER INSERT OR UPDATE ON public.`+served+`
			FOR EACH ROW WHEN (NEW.id = 7) EXECUTE FUNCTION public.seen_live()`); err != nil {
		t.Fatal(err)
	}

	env := f.openEnv()
	if _, err := Run(ctx, env, Options{View: "item_view", From: "kafka", Keep: time.Hour, ReplayIdle: 5 * time.Second}); err != nil {
		t.Fatalf("rebuild --from kafka: %v", err)
	}
	var resurrected int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM public.seen_live WHERE NOT deleted`).Scan(&resurrected); err != nil {
		t.Fatal(err)
	}
	if resurrected > 0 {
		t.Errorf("the replay wrote the deleted item 7 as live to the served generation %s (%d times)", served, resurrected)
	}
	f.wantDocs(h.source)
}
