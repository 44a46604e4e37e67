package rebuild

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/rebuild/registry"
)

// TestVerifyFullComparesRedisContent: README, "--verify full recomputes
// every document and compares it field by field". A Redis document whose
// value differs from the state's, at the revision the state gives,
// refuses the swap, naming it; a presence check would let it through.
func TestVerifyFullComparesRedisContent(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	f.seed(d, 1, 10)
	env := f.openEnv()
	ctx := context.Background()

	// Rewrites document 7's value, its revision left as it is, as a
	// store holding something else than it was given would.
	corrupt := func(ctx context.Context, _ registry.Generation) error {
		return f.rdb.Set(ctx, f.prefix+"item:7", `{"id":7,"name":"not-what-the-state-gives","qty":7}`, 0).Err()
	}
	_, err := Run(ctx, env, Options{View: "item_view", Keep: time.Hour, Verify: VerifyFull, VerifyTimeout: 300 * time.Millisecond, afterFill: corrupt})
	if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "redis: content differs") || !strings.Contains(err.Error(), "ids 7") {
		t.Fatalf("rebuild --verify full with a Redis document of other content: %v", err)
	}

}
