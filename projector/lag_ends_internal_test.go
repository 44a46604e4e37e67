package projector

import (
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

func newTestLags() *lags {
	return newLags(prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "lag"}, []string{"topic", "partition"}))
}

// fetch is a poll of one partition of topic, with its end (-1 when the
// fetch failed, as a refused one gives it) and its records' offsets.
func fetch(topic string, partition int32, end int64, err error, offsets ...int64) kgo.Fetches {
	fp := kgo.FetchPartition{Partition: partition, Err: err, HighWatermark: end, LastStableOffset: end}
	for _, o := range offsets {
		fp.Records = append(fp.Records, &kgo.Record{Topic: topic, Partition: partition, Offset: o})
	}
	return kgo.Fetches{{Topics: []kgo.FetchTopic{{Topic: topic, Partitions: []kgo.FetchPartition{fp}}}}}
}

func listed(topic string, partition int32, offset int64) kadm.ListedOffsets {
	return kadm.ListedOffsets{topic: {partition: {Topic: topic, Partition: partition, Offset: offset}}}
}

func lagOf(t *testing.T, l *lags, topic, partition string) float64 {
	t.Helper()
	var m dto.Metric
	if err := l.gauge.WithLabelValues(topic, partition).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetGauge().GetValue()
}

// TestLagEndsOfFailingFetchesAskedOfTheBrokers: a fetch that fails (the
// topic's Read ACL was removed) gives no end, and the partition's end is
// asked of the brokers as if no fetch came, even while the fetches of the
// member's other topics succeed.
func TestLagEndsOfFailingFetchesAskedOfTheBrokers(t *testing.T) {
	l := newTestLags()
	l.assigned(map[string][]int32{"denied": {0}, "open": {0}})
	l.fetched(fetch("denied", 0, 1, nil, 0))
	l.fetched(fetch("open", 0, 1, nil, 0))
	l.committed([]*kgo.Record{{Topic: "denied", Partition: 0, Offset: 0}})
	if got := l.stale(time.Hour); len(got) != 0 {
		t.Fatalf("stale right after fetches that gave the ends: %v", got)
	}
	for _, p := range l.parts {
		p.fetchedAt = p.fetchedAt.Add(-time.Minute) // a minute ago
	}
	l.fetched(fetch("denied", 0, -1, kerr.TopicAuthorizationFailed))
	l.fetched(fetch("open", 0, 1, nil))
	if got := l.stale(time.Minute); !slices.Equal(got, []string{"denied"}) {
		t.Fatalf("topics whose ends are asked of the brokers = %v, want [denied]", got)
	}
	l.listed(listed("denied", 0, 6)) // produced while the fetches fail
	if v := lagOf(t, l, "denied", "0"); v != 5 {
		t.Errorf("lag of the partition whose fetches fail = %v, want 5", v)
	}
}

// TestLagCountsNoRecordRetentionDeleted: the group committed offset 1 of
// a partition whose log now starts at 3: the client resets there, and the
// records before it, deleted, are not counted, at assignment or when the
// start moves past a position nothing was consumed from.
func TestLagCountsNoRecordRetentionDeleted(t *testing.T) {
	l := newTestLags()
	l.assigned(map[string][]int32{"t": {0, 1}})
	commits := kadm.OffsetResponses{"t": {
		0: {Offset: kadm.Offset{Topic: "t", Partition: 0, At: 1}},
		1: {Offset: kadm.Offset{Topic: "t", Partition: 1, At: 4}},
	}}
	starts := listed("t", 0, 3)
	starts["t"][1] = kadm.ListedOffset{Topic: "t", Partition: 1, Offset: 2}
	l.positioned(commits, starts)
	ends := listed("t", 0, 3)
	ends["t"][1] = kadm.ListedOffset{Topic: "t", Partition: 1, Offset: 6}
	l.listed(ends)
	if v := lagOf(t, l, "t", "0"); v != 0 {
		t.Errorf("lag of a partition whose log starts and ends past its commit = %v, want 0", v)
	}
	if v := lagOf(t, l, "t", "1"); v != 2 {
		t.Errorf("lag of a partition whose commit is past its start = %v, want 2 (from the commit)", v)
	}

	// Retention deletes records 4 and 5 while the member is stalled.
	l.started(listed("t", 1, 6))
	if v := lagOf(t, l, "t", "1"); v != 0 {
		t.Errorf("lag after the records past the commit were deleted = %v, want 0", v)
	}
	// A start behind the position moves nothing.
	l.started(listed("t", 1, 0))
	l.listed(listed("t", 1, 8))
	if v := lagOf(t, l, "t", "1"); v != 2 {
		t.Errorf("lag after 2 more records = %v, want 2", v)
	}
}
