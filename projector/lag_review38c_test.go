package projector_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// TestR38cLagAfterRetentionDeletedTheCommittedRecords: README
// (Operations): projector_consumer_lag counts "records from this member's
// committed offset to the partition's end ...; after the client resets
// its position, a broker having lost records, it counts from where the
// partition is consumed again". A daemon stopped longer than the topic's
// retention (a staging stack, a long incident) comes back to a group
// offset of 1 on a partition whose records up to 3 are gone: the client
// resets to the log's start, 3, which is its end, and has nothing to
// consume. The lag stays at 2, for records that no longer exist, until
// a new record comes in: a caught-up member reports lag for ever on every
// quiet partition retention emptied, and an alert on lag > 0 never clears.
func TestR38cLagAfterRetentionDeletedTheCommittedRecords(t *testing.T) {
	_, pgURL := testenv.Postgres(t)
	k := newOwnKafka(t, 1)
	for _, id := range []string{"w0", "w1", "w2"} {
		k.widget(t, id, 0)
	}
	const group = "r38c-retention"
	ctx := context.Background()
	// The group last committed offset 1 (w0 projected), before it stopped.
	offs := kadm.Offsets{}
	offs.Add(kadm.Offset{Topic: "cqrs.public.widgets", Partition: 0, At: 1, LeaderEpoch: -1})
	if _, err := k.adm.CommitOffsets(ctx, group, offs); err != nil {
		t.Fatal(err)
	}
	// Retention deletes every record while it is stopped.
	del := kadm.Offsets{}
	del.Add(kadm.Offset{Topic: "cqrs.public.widgets", Partition: 0, At: 3, LeaderEpoch: -1})
	if res, err := k.adm.DeleteRecords(ctx, del); err != nil || res.Error() != nil {
		t.Fatalf("delete records: %v %v", err, res.Error())
	}
	starts, err := k.adm.ListStartOffsets(ctx, "cqrs.public.widgets")
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := starts.Lookup("cqrs.public.widgets", 0); s.Offset != 3 {
		t.Fatalf("log start after DeleteRecords = %d, want 3", s.Offset)
	}

	reg := prometheus.NewRegistry()
	eng := widgetEngine(t, pgURL, newViewSink(), reg, nil, 50*time.Millisecond)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	m := startConsumer(t, runCtx, eng, projector.ConsumerOptions{Brokers: k.addrs, Group: group, ClientID: "r38c",
		LagRefresh: 50 * time.Millisecond, Extra: []kgo.Opt{kgo.FetchMaxWait(100 * time.Millisecond)}})
	waitCond(t, "assigned", 30*time.Second, m.cons.Joined)
	lag := map[string]string{"topic": "cqrs.public.widgets", "partition": "0"}
	waitCond(t, "the lag series", 30*time.Second, func() bool { _, ok := metricValue(t, reg, "projector_consumer_lag", lag); return ok })
	if !eventually(5*time.Second, func() bool { v, _ := metricValue(t, reg, "projector_consumer_lag", lag); return v == 0 }) {
		v, _ := metricValue(t, reg, "projector_consumer_lag", lag)
		t.Errorf("projector_consumer_lag = %v for a partition whose log starts and ends at 3: no record is left to consume", v)
	}
}
