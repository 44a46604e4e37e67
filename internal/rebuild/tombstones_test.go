package rebuild

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/projectorhq/projector/config"
)

// TestReplayRepairsAfterACollection: rebuild --from kafka repairs a state
// that lost rows, also once tombstones of the source were collected: the
// lost rows come back, and a collected row's delete, replayed after its
// create, leaves it deleted.
func TestReplayRepairsAfterACollection(t *testing.T) {
	f, h := newKafkaHistory(t, 1)
	ctx := context.Background()
	batch := map[int64]*item{}
	for id := int64(1); id <= 20; id++ {
		batch[id] = &item{Name: "item", Qty: id}
	}
	h.step(batch)
	h.step(map[int64]*item{7: nil}) // item 7 deleted after every create
	h.publish()

	// Item 7's delete is eight days old; the collector takes it.
	if _, err := f.pool.Exec(ctx, `UPDATE projector.state_items SET updated_at = now() - interval '8 days' WHERE key = '7' AND deleted`); err != nil {
		t.Fatal(err)
	}
	if n, err := h.d.st.Engine.CollectTombstones(ctx, 7*24*time.Hour); err != nil || n != 1 {
		t.Fatalf("collected %d tombstones (%v), want item 7's", n, err)
	}
	// The state loses items 10 and 11 (as in TestRebuildFromKafka).
	if _, err := f.pool.Exec(ctx, `DELETE FROM projector.state_items WHERE key IN ('10', '11')`); err != nil {
		t.Fatal(err)
	}

	env := f.openEnv()
	res, err := Run(ctx, env, Options{View: "item_view", From: "kafka", Keep: 0, ReplayIdle: 5 * time.Second})
	if err != nil {
		t.Fatalf("rebuild --from kafka: %v", err)
	}
	t.Logf("rebuild --from kafka: %+v", res)
	var n int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM projector.state_items WHERE key IN ('10', '11') AND NOT deleted`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("after the replay the state holds %d of the lost items 10 and 11, want both", n)
	}
	f.wantDocs(h.source)
}

// TestReplayWarnsOfShortTombstoneRetention: rebuild --from kafka warns,
// naming the topic, when the topic keeps records longer than the state
// keeps tombstones (kfake's defaults, like Kafka's: 7 days of retention
// plus a 7-day segment), and says nothing when the tombstones outlast
// them.
func TestReplayWarnsOfShortTombstoneRetention(t *testing.T) {
	f, h := newKafkaHistory(t, 1)
	ctx := context.Background()
	h.step(map[int64]*item{1: {Name: "item", Qty: 1}})
	h.publish()
	for _, tc := range []struct {
		keep time.Duration
		warn bool
	}{{time.Hour, true}, {30 * 24 * time.Hour, false}} {
		env := f.openEnv()
		env.Config.State.TombstoneRetention = config.Duration(tc.keep)
		log := &warnings{}
		if _, err := Run(ctx, env, Options{View: "item_view", From: "kafka", Keep: 0, ReplayIdle: 5 * time.Second, Log: slog.New(log)}); err != nil {
			t.Fatalf("rebuild --from kafka: %v", err)
		}
		got := log.about("shop.public.items")
		if got != tc.warn {
			t.Errorf("tombstones kept %s: warned about the topic %v, want %v (warnings: %v)", tc.keep, got, tc.warn, log.msgs)
		}
	}
}

// warnings records the warnings logged, with their topic attribute.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (w *warnings) WithAttrs([]slog.Attr) slog.Handler           { return w }
func (w *warnings) WithGroup(string) slog.Handler                { return w }
func (w *warnings) Handle(_ context.Context, r slog.Record) error {
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "topic" {
			msg += " topic=" + a.Value.String()
		}
		return true
	})
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, msg)
	return nil
}

func (w *warnings) about(topic string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, m := range w.msgs {
		if strings.Contains(m, "tombstone") && strings.HasSuffix(m, "topic="+topic) {
			return true
		}
	}
	return false
}
