package rebuild

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestR20aReplayDoesNotHideALostTable: item_view2's served table was
// dropped behind projector's back while the daemons were stopped. A
// restart leaves it lost (internal/stack/lost.go: not created again,
// empty, behind its readers; the probe says a rebuild is needed) until
// item_view2 is rebuilt. A rebuild --from kafka of item_view, which shares
// the source, creates it again all the same (ensureServed takes it for a
// table no daemon created) and writes to it only the documents of the
// records retention kept; the next restart finds the table, takes it for
// the deployed one, and points item_view2's readers at it: half the
// documents, and nothing says so.
func TestR20aReplayDoesNotHideALostTable(t *testing.T) {
	bg := context.Background()
	kc := itemsCluster(t, 1)
	producer, err := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(producer.Close)
	f := newFixtureYAML(t, twoViewsYAML, strings.Join(kc.ListenAddrs(), ","), "")
	h := &kafkaHistory{t: t, d: f.startDaemon(), producer: producer, topic: "shop.public.items", source: map[int64]*item{}}
	for id := int64(1); id <= 20; id++ {
		h.step(map[int64]*item{id: {Name: "item", Qty: id}})
	}
	h.publish()
	h.d.stop()
	// Retention takes the first 10 records (items 1..10).
	var offs kadm.Offsets
	offs.Add(kadm.Offset{Topic: h.topic, Partition: 0, At: 10})
	res, err := kadm.NewClient(producer).DeleteRecords(bg, offs)
	if err == nil {
		err = res.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.pool.Exec(bg, `DROP TABLE item_view2__g1 CASCADE`); err != nil {
		t.Fatal(err)
	}

	rctx, cancel := context.WithTimeout(bg, 60*time.Second)
	defer cancel()
	if _, err := Run(rctx, f.openEnv(), Options{View: "item_view", From: "kafka", Keep: 0, ReplayIdle: 5 * time.Second}); err != nil {
		t.Fatalf("rebuild --from kafka of item_view: %v", err)
	}
	d := f.startDaemon()
	defer d.stop()
	var reader bool
	if err := f.pool.QueryRow(bg, `SELECT to_regclass('public.item_view2') IS NOT NULL`).Scan(&reader); err != nil {
		t.Fatal(err)
	}
	if !reader {
		return // still lost, as it should be: a rebuild of item_view2 brings it back
	}
	if got := f.readerRowsOf(bg, "item_view2"); len(got) != 20 {
		t.Errorf("item_view2's table was lost and never rebuilt; after a replay for another view and a restart its readers see %d of 20 documents", len(got))
	}
}
