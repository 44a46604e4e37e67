package query_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/query"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
)

// TestReadYourWrites: writers change their own docs while others write;
// each asks for its doc with the position of its latest write and must see
// that write, through the parameter, the header, the decimal form, a get
// (Redis) and a list (PostgreSQL).
func TestReadYourWrites(t *testing.T) {
	s := newShop(t, shopOptions{})
	s.user("u1", "Ada", "ada@example.com")
	const writers, rounds = 4, 15
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := int64(100 + w)
			for i := range rounds {
				note := fmt.Sprintf("w%d-%d", w, i)
				lsn := s.order(id, row{"user_id": "u1", "status": "new", "note": note, "total": "1.00"})
				var path string
				var header []string
				switch i % 4 {
				case 0:
					path = fmt.Sprintf("/v1/views/orders/docs/%d?min_position=orders:%s", id, lsnText(lsn))
				case 1:
					path = fmt.Sprintf("/v1/views/orders/docs/%d", id)
					header = []string{"Projector-Min-Position", "orders:" + lsnText(lsn)}
				case 2:
					path = fmt.Sprintf("/v1/views/orders/docs/%d?min_position=orders:%d&wait=10s", id, lsn)
				case 3:
					path = fmt.Sprintf("/v1/views/orders/docs?id=%d&min_position=orders:%s", id, lsnText(lsn))
				}
				status, body := call(t, s.http.URL, path, header...)
				if status != http.StatusOK {
					t.Errorf("%s: %d %v", path, status, body)
					return
				}
				if l := docs(body); i%4 == 3 {
					if len(l) != 1 {
						t.Errorf("%s: %v", path, body)
						return
					}
					body = l[0]
				}
				if body["note"] != note {
					t.Errorf("writer %d round %d: read %v, wrote %q", w, i, body["note"], note)
					return
				}
			}
		}()
	}
	wg.Wait()
	// Positions of several sources at once: the customer's new name and
	// an order written after it.
	ulsn := s.user("u1", "Ada King", "ada@example.com")
	olsn := s.order(100, row{"user_id": "u1", "status": "paid", "note": "last", "total": "1.00"})
	status, body := s.get("/v1/views/orders/docs/100", "Projector-Min-Position", fmt.Sprintf("users:%d, orders:%s", ulsn, lsnText(olsn)))
	if status != http.StatusOK || body["status"] != "paid" || body["customer"].(map[string]any)["name"] != "Ada King" {
		t.Errorf("two sources: %d %v", status, body)
	}
}

// TestReadYourWritesWaits shows the wait is what makes the read fresh: with
// the engine stopped the read times out with each partition's progress,
// and a read waiting while the engine comes back gets the write.
func TestReadYourWritesWaits(t *testing.T) {
	s := newShop(t, shopOptions{})
	s.user("u1", "Ada", "ada@example.com")
	s.order(1, row{"user_id": "u1", "status": "new", "note": "before"})
	s.caughtUp()
	// Caught up everywhere: even a position far ahead is answered at once.
	if status, body := s.get("/v1/views/orders/docs/1?min_position=orders:FFFFFF/0&wait=0s"); status != http.StatusOK {
		t.Fatalf("caught up, future position: %d %v", status, body)
	}

	s.stopEngine()
	lsn := s.order(1, row{"user_id": "u1", "status": "new", "note": "after"})
	if _, body := s.get("/v1/views/orders/docs/1"); body["note"] != "before" {
		t.Fatalf("without a position the read does not wait: %v", body)
	}
	path := "/v1/views/orders/docs/1?min_position=orders:" + lsnText(lsn) + "&wait=200ms"
	status, body := s.get(path)
	mustStatus(t, path, status, http.StatusGatewayTimeout, body)
	cur := body["current"].(map[string]any)["orders"].(map[string]any)
	if cur["requested"] != lsnText(lsn) || len(cur["partitions"].([]any)) == 0 || body["code"] != "position_not_reached" {
		t.Errorf("504 body: %v", body)
	}

	type result struct {
		status int
		body   map[string]any
	}
	res := make(chan result, 1)
	go func() {
		status, body := call(t, s.http.URL, "/v1/views/orders/docs/1?min_position=orders:"+strconv.FormatInt(lsn, 10)+"&wait=30s")
		res <- result{status, body}
	}()
	s.startEngine()
	r := <-res
	if r.status != http.StatusOK || r.body["note"] != "after" {
		t.Fatalf("after the engine came back: %d %v", r.status, r.body)
	}
}

// TestReadYourWritesWithoutKafka: the server cannot reach Kafka, so lag is
// left out and only the positions count.
func TestReadYourWritesWithoutKafka(t *testing.T) {
	s := newShop(t, shopOptions{brokers: "127.0.0.1:1"})
	s.user("u1", "Ada", "ada@example.com")
	lsn := s.order(1, row{"user_id": "u1", "status": "new", "note": "x"})
	status, body := s.get("/v1/views/orders/docs/1?min_position=orders:" + lsnText(lsn) + "&wait=20s")
	if status != http.StatusOK || body["note"] != "x" {
		t.Fatalf("%d %v", status, body)
	}
	// No partition projected this far, and Kafka cannot say "caught up".
	status, body = s.get("/v1/views/orders/docs/1?min_position=orders:FFFFFF/0&wait=100ms")
	mustStatus(t, "future position", status, http.StatusGatewayTimeout, body)
	status, body = s.get("/v1/views")
	mustStatus(t, "views", status, http.StatusOK, body)
	if v := body["views"].([]any)[0].(map[string]any); v["lag"] != nil {
		t.Errorf("lag without Kafka: %v", v["lag"])
	}
}

const unknownTopicYAML = `
version: 1
kafka: { brokers: "${BROKERS}", group: unknown-topic }
stores:
  postgres: { url: "${PG}" }
sources:
  a:
    topic: ut.a
    key: id
    columns: { id: bigint, x: text }
  b:
    topic: ut.b
    key: id
    columns: { id: bigint, y: text }
views:
  av:
    from: a
    fields: { id: id, x: x }
    sinks:
      postgres: { table: ut_av }
`

// TestViewsListingKeepsReadYourWrites: source b's topic does not exist yet
// (Debezium creates a table's topic on its first change). Listing the
// views still reports lag (none on a topic that does not exist), and the
// lag lookup leaves read-your-writes alone: a caught-up partition of a
// still answers a position ahead of its watermark at once.
func TestViewsListingKeepsReadYourWrites(t *testing.T) {
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "ut.a"))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: "ut.a", Value: []byte("{}")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	pool, pgURL := testenv.Postgres(t)
	ctx := context.Background()
	for _, q := range []string{
		`CREATE SCHEMA projector`,
		`CREATE TABLE projector.watermarks (source text NOT NULL, topic text NOT NULL, partition int NOT NULL,
			"offset" bigint NOT NULL, pos_hi bigint NOT NULL, pos_lo bigint NOT NULL, updated_at timestamptz NOT NULL, PRIMARY KEY (topic, partition))`,
		// Partition 0 projected its only record (next offset 1), at LSN 100.
		`INSERT INTO projector.watermarks VALUES ('a', 'ut.a', 0, 1, 100, 0, now())`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{"BROKERS": kc.ListenAddrs()[0], "PG": pgURL}
	cfg, err := config.Parse("ut.yaml", []byte(unknownTopicYAML), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := query.New(ctx, cfg, plan, query.Options{KafkaTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	if err := srv.WaitFor(ctx, "av", []string{"a:200"}, 300*time.Millisecond); err != nil {
		t.Fatalf("caught up, before listing views: %v", err)
	}
	views := srv.Views(ctx, nil)
	if len(views) != 1 || views[0].Lag == nil || views[0].Lag.Records != 0 {
		t.Errorf("views with a topic not created yet: %+v, want lag 0", views)
	}
	err = srv.WaitFor(ctx, "av", []string{"a:200"}, 300*time.Millisecond)
	if errors.Is(err, query.ErrNotReached) {
		t.Fatalf("caught up, right after listing the views: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
}
