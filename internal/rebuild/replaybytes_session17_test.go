package rebuild

// Session 17: the replays of a rebuild (--from kafka, --from signal) handed
// every poll, up to 5,000 records, to the engine as one batch, whatever
// kafka.batch_bytes said; the daemons cut their polls by it
// (projector/batchbytes.go). A topic of large records was so projected in
// batches of far more bytes than the setting allows, and the engine holds
// several times a batch's bytes.

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/internal/rebuild/registry"
)

const (
	s17BatchBytes = 256 << 10 // kafka.batch_bytes of the tests
	s17NameBytes  = 60_000    // a record's name: four records fit in a batch, five do not
)

// s17BatchBytesYAML is itemsYAML with kafka.batch_bytes set.
var s17BatchBytesYAML = strings.Replace(itemsYAML, "group: items }", fmt.Sprintf("group: items, batch_bytes: %d }", s17BatchBytes), 1)

// s17LargestBatch is the most bytes of names one state transaction wrote
// to the items state, and how many transactions wrote it: the engine
// applies each batch to the state in one transaction, so the rows one
// transaction wrote (the same xmin) are one batch's.
func s17LargestBatch(t *testing.T, f *fixture) (largest, batches int64) {
	t.Helper()
	if err := f.pool.QueryRow(context.Background(), `SELECT coalesce(max(bytes), 0), count(*) FROM (
		SELECT sum(octet_length(data->>'name')) AS bytes FROM projector.state_items GROUP BY xmin::text) b`).Scan(&largest, &batches); err != nil {
		t.Fatal(err)
	}
	return largest, batches
}

// s17Large is item id with a name of s17NameBytes bytes.
func s17Large(id int64) *item {
	return &item{Name: strings.Repeat(fmt.Sprint(id%10), s17NameBytes), Qty: id}
}

// TestS17ReplayHonoursBatchBytes: 40 records of 60 KB in the topic, taken
// by one poll of the replay (fetches of up to 8 MB a partition). A rebuild
// --from kafka applies every one, in batches of at most kafka.batch_bytes
// (256 KB: four records); before, in one batch of 2.4 MB.
func TestS17ReplayHonoursBatchBytes(t *testing.T) {
	kc := itemsCluster(t, 1)
	f := newFixtureYAML(t, s17BatchBytesYAML, strings.Join(kc.ListenAddrs(), ","), "")
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
		source[id] = s17Large(id)
		recs = append(recs, &kgo.Record{Topic: "shop.public.items", Key: fmt.Appendf(nil, `{"id":%d}`, id), Value: envelope(id, source[id], 1000+8*id)})
	}
	if err := producer.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	res, err := Run(ctx, f.openEnv(), Options{View: "item_view", From: registry.SourceKafka, Keep: 0, ReplayIdle: 5 * time.Second,
		Kafka: []kgo.Opt{kgo.FetchMaxPartitionBytes(8 << 20)}})
	if err != nil {
		t.Fatalf("rebuild --from kafka: %v", err)
	}
	largest, batches := s17LargestBatch(t, f)
	t.Logf("rebuild --from kafka of 40 records of 60 KB: %d batches, the largest of %d bytes of names", batches, largest)
	if res.Replayed != 40 {
		t.Errorf("replayed %d records, want 40", res.Replayed)
	}
	if largest > s17BatchBytes {
		t.Errorf("a batch of the replay held %d bytes of names (%d records), %d batches in all: more than kafka.batch_bytes (%d)",
			largest, largest/s17NameBytes, batches, s17BatchBytes)
	}
	f.wantDocs(source)
}

// TestS17SignalWindowHonoursBatchBytes: the same for the replay of an
// incremental snapshot's window: the connector reads 40 rows of 60 KB in
// one chunk, which the rebuild --from signal applies in batches of at most
// kafka.batch_bytes.
func TestS17SignalWindowHonoursBatchBytes(t *testing.T) {
	kc := signalCluster(t)
	f := newFixtureYAML(t, s17BatchBytesYAML, strings.Join(kc.ListenAddrs(), ","), "")
	d := f.startDaemon()
	ctx := context.Background()
	source := map[int64]*item{}
	for id := int64(1); id <= 40; id++ {
		source[id] = s17Large(id)
	}
	newFakeConnector(t, kc.ListenAddrs(), "shop", "public.items", &itemsTable{d: d, rows: maps.Clone(source), chunk: 40}, false)

	res, err := Run(ctx, f.openEnv(), Options{View: "item_view", From: registry.SourceSignal, Keep: 0, ReplayIdle: 2 * time.Second,
		Kafka: []kgo.Opt{kgo.FetchMaxPartitionBytes(8 << 20)}})
	if err != nil {
		t.Fatalf("rebuild --from signal: %v", err)
	}
	largest, batches := s17LargestBatch(t, f)
	t.Logf("rebuild --from signal of 40 rows of 60 KB: %d batches, the largest of %d bytes of names", batches, largest)
	if res.Replayed != 40 {
		t.Errorf("replayed %d records, want 40", res.Replayed)
	}
	if largest > s17BatchBytes {
		t.Errorf("a batch of the snapshot's window held %d bytes of names (%d records), %d batches in all: more than kafka.batch_bytes (%d)",
			largest, largest/s17NameBytes, batches, s17BatchBytes)
	}
	f.wantDocs(source)
}
