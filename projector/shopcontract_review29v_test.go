package projector_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/projectorhq/projector/internal/shop"
	"github.com/projectorhq/projector/internal/testenv"
)

// TestR29vStatsHashFields: the shop contract (issue 4) gives the Redis hash
// user:{user_id}:stats the fields order_count and total_spent; a user with
// only cancelled orders has no hash.
func TestR29vStatsHashFields(t *testing.T) {
	_, pgURL := testenv.Postgres(t)
	rdb, prefix := testenv.Redis(t)
	kc := newCluster(t, 1, shopTopics...)
	cfg, plan := loadPlan(t, shopConfig(t, kc, pgURL, prefix, "r29v"), nil)

	gen := shop.New(29)
	u1, u2 := fmt.Sprintf("%024x", 1), fmt.Sprintf("%024x", 2)
	var msgs []shop.Message
	for _, step := range [][]shop.Message{
		gen.PutUser(u1, "Ada", "ada@example.com"),
		gen.PutOrder(1, u1, "paid"),
		gen.PutOrder(2, u2, "paid"),
		gen.PutOrder(2, u2, "cancelled"),
	} {
		msgs = append(msgs, step...)
	}
	kc.produce(t, records(msgs)...)
	m := startMember(t, cfg, plan, 100)
	kc.waitCaughtUp(t, "r29v", m.done)

	ctx := context.Background()
	h, err := rdb.HGetAll(ctx, prefix+"user:"+u1+":stats").Result()
	if err != nil {
		t.Fatal(err)
	}
	var fields []string
	for k := range h {
		fields = append(fields, k)
	}
	slices.Sort(fields)
	if !slices.Equal(fields, []string{"order_count", "total_spent"}) {
		t.Errorf("hash user:%s:stats has fields %v, want [order_count total_spent] (%v)", u1, fields, h)
	}
	if n, err := rdb.Exists(ctx, prefix+"user:"+u2+":stats").Result(); err != nil || n != 0 {
		t.Errorf("user %s has only cancelled orders: hash exists=%d err=%v", u2, n, err)
	}
	m.drain(t)
}
