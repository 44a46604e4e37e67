package query_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestR33hWaitOnPartitionWithNothingLeftToProject: README "Read-your-
// writes": a request with min_position "answers once every partition of
// that source has projected up to the position or is caught up". A
// partition whose records are all gone (retention or DeleteRecords: log
// start offset == end offset) and that the group never had to consume
// holds nothing to project: it is caught up, and GET /v1/views says so
// (lag 0: sourceLag counts from max(start offset, watermark)). But
// reached() (position.go) only knows the watermarks: a partition with an
// end offset > 0 and no watermark row is "not reached", whatever the
// position asked. Every read-your-writes request on that source, even
// min_position=users:0/1, then waits out its whole ?wait= and answers 504
// position_not_reached, for good (until a record lands in that partition).
//
// How it happens: a small table (tenants, settings) on a topic of several
// partitions, whose rows hashing to one partition were deleted long ago;
// a new deployment (fresh state database) or a new consumer group finds
// that partition's log empty past its start. Here: users has 2 partitions;
// u1 is projected on one; the other got a record that was deleted before
// any daemon read it. The orders view reads users (its customer).
//
// The fix belongs in position.go (reached / offsetCache): take a
// partition's start offset (or the group's committed offset) with its end
// offset, and count a partition without a watermark whose start equals its
// end as caught up, as sourceLag already does.
func TestR33hWaitOnPartitionWithNothingLeftToProject(t *testing.T) {
	s := newShop(t, shopOptions{}) // two partitions a topic
	lsn := s.user("u1", "Ada Lovelace", "ada@example.com")
	s.order(1, row{"user_id": "u1", "status": "paid", "total": "12.50"})
	s.caughtUp()
	s.stopEngine() // nothing may read the record below before it is deleted
	ctx := context.Background()
	var projected int32 = -1
	if err := s.pool.QueryRow(ctx, `SELECT partition FROM projector.watermarks WHERE source = 'users'`).Scan(&projected); err != nil {
		t.Fatalf("watermark of users: %v", err)
	}
	other := 1 - projected
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.cfg.Kafka.Brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	rec := &kgo.Record{Topic: "app.public.users", Partition: other, Key: []byte(`{"id":"gone"}`), Value: []byte(`{}`)}
	if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		t.Fatal(err)
	}
	var del kadm.Offsets
	del.AddOffset("app.public.users", other, rec.Offset+1, -1)
	res, err := kadm.NewClient(cl).DeleteRecords(ctx, del)
	if err == nil {
		err = res.Error()
	}
	if err != nil {
		t.Fatalf("delete records: %v", err)
	}

	// The API itself says nothing is left to project.
	_, views := s.get("/v1/views")
	for _, v := range views["views"].([]any) {
		v := v.(map[string]any)
		if v["name"] != "orders" {
			continue
		}
		lag, _ := v["lag"].(map[string]any)
		if lag == nil || lag["records"] == nil || lag["records"].(interface{ String() string }).String() != "0" {
			t.Fatalf("orders lag: %v; the setup expects 0", v["lag"])
		}
	}
	for _, pos := range []string{"users:0/1", "users:" + lsnText(lsn)} {
		path := "/v1/views/orders/docs/1?wait=1s&min_position=" + pos
		status, body := s.get(path)
		if status != http.StatusOK {
			t.Errorf("GET %s: %d %v; want 200: partition %d is projected past the position and partition %d has no record left to project (lag 0)",
				path, status, body, projected, other)
		}
	}
}
