package rebuild

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/internal/rebuild/registry"
)

// TestS17ReplayHonoursBatchSize: a rebuild --from kafka of 40 records
// applies them in batches of at most kafka.batch_size (10), as the daemons
// do; it polled up to 5,000 records and took each poll as one batch.
func TestS17ReplayHonoursBatchSize(t *testing.T) {
	kc := itemsCluster(t, 1)
	cfg := strings.Replace(itemsYAML, "group: items }", "group: items, batch_size: 10 }", 1)
	f := newFixtureYAML(t, cfg, strings.Join(kc.ListenAddrs(), ","), "")
	f.startDaemon()
	ctx := context.Background()
	producer, err := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(producer.Close)
	source := map[int64]*item{}
	var recs []*kgo.Record
	for id := int64(1); id <= 40; id++ {
		source[id] = &item{Name: fmt.Sprint("item ", id), Qty: id}
		recs = append(recs, &kgo.Record{Topic: "shop.public.items", Key: fmt.Appendf(nil, `{"id":%d}`, id), Value: envelope(id, source[id], 1000+8*id)})
	}
	if err := producer.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	res, err := Run(ctx, f.openEnv(), Options{View: "item_view", From: registry.SourceKafka, Keep: 0, ReplayIdle: 5 * time.Second})
	if err != nil {
		t.Fatalf("rebuild --from kafka: %v", err)
	}
	var largest int
	if err := f.pool.QueryRow(ctx, `SELECT coalesce(max(n), 0) FROM (
		SELECT count(*) AS n FROM projector.state_items GROUP BY xmin::text) b`).Scan(&largest); err != nil {
		t.Fatal(err)
	}
	if res.Replayed != 40 || largest > 10 {
		t.Errorf("replayed %d records, the largest batch of %d rows; want 40, in batches of at most kafka.batch_size (10)", res.Replayed, largest)
	}
	f.wantDocs(source)
}
