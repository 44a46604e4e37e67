package rebuild

import (
	"context"
	"fmt"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestSweepExistingOnCluster: the sweep's look-up of which documents
// still have keys works on a Redis Cluster, whose keys are on three
// masters: each key with its membership key (in its slot) in one EXISTS.
func TestSweepExistingOnCluster(t *testing.T) {
	rdb, prefix := testenv.RedisCluster(t)
	ctx := context.Background()
	membership := func(k string) string { return "projector:ix:{" + k + "}" }
	var keys []string
	want := map[string]bool{}
	for i := range 30 {
		k := fmt.Sprintf("%sdoc:%d", prefix, i)
		keys = append(keys, k)
		switch i % 3 {
		case 0:
			want[k] = true
			if err := rdb.Set(ctx, k, "1", 0).Err(); err != nil {
				t.Fatal(err)
			}
		case 1:
			want[k] = true // only in index sets
			if err := rdb.SAdd(ctx, membership(k), "ix").Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, err := existing(ctx, rdb, keys, membership)
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		if got[i] != want[k] {
			t.Errorf("existing %s = %v, want %v", k, got[i], want[k])
		}
	}
}
