package projector

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestR27jCheckWatermarksOnlyAssignedTopics: checkWatermarks runs in
// franz-go's OnPartitionsAssigned callback, with polling blocked
// (BlockRebalanceOnPoll) until it returns. franz-go calls that callback
// on every rebalance, with an empty map when the member gains nothing
// (every member but one, in a cooperative rebalance). kadm's
// ListEndOffsets with no topics lists every topic of the cluster: each
// such member then fetches the metadata and end offsets of every
// partition of every topic, ours or not, while its consumption is stalled
// (up to the 10 s timeout when one unrelated partition has no leader).
// Only the assigned partitions' ends are needed.
func TestR27jCheckWatermarksOnlyAssignedTopics(t *testing.T) {
	fake, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "ours"), kfake.SeedTopics(4, "unrelated"))
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	var mu sync.Mutex
	var listed []string
	fake.ControlKey(int16(kmsg.ListOffsets), func(req kmsg.Request) (kmsg.Response, error, bool) {
		fake.KeepControl()
		mu.Lock()
		defer mu.Unlock()
		for _, tp := range req.(*kmsg.ListOffsetsRequest).Topics {
			listed = append(listed, tp.Topic)
		}
		return nil, nil, false
	})
	cl, err := kgo.NewClient(kgo.SeedBrokers(fake.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	c := &Consumer{eng: &Engine{state: newMemState()}, log: slog.New(slog.DiscardHandler)}
	ctx := context.Background()

	c.checkWatermarks(ctx, cl, map[string][]int32{}) // a rebalance that assigned nothing new
	c.checkWatermarks(ctx, cl, map[string][]int32{"ours": {0}})
	mu.Lock()
	defer mu.Unlock()
	if slices.Contains(listed, "unrelated") {
		t.Errorf("checkWatermarks listed the end offsets of topics %q; want only the assigned partitions' (ours)", slices.Compact(slices.Sorted(slices.Values(listed))))
	}
}
