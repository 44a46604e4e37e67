package query_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/projectorhq/projector/internal/query"
	"github.com/projectorhq/projector/internal/testenv"
)

// TestGetFromRedisCluster: a get reads a view kept only in Redis from a
// Redis Cluster, whichever master holds the doc's key.
func TestGetFromRedisCluster(t *testing.T) {
	_, pgURL := testenv.Postgres(t)
	rdb, prefix := testenv.RedisCluster(t)
	ctx := context.Background()
	const n = 12 // keys on all three masters
	masters := map[string]bool{}
	for id := 1; id <= n; id++ {
		key := fmt.Sprintf("%snote:%d", prefix, id)
		if err := rdb.Set(ctx, key, fmt.Sprintf(`{"id":%d,"body":"note %d"}`, id, id), 0).Err(); err != nil {
			t.Fatal(err)
		}
		slot, err := rdb.ClusterKeySlot(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		masters[fmt.Sprint(slot*3/16384)] = true // the test cluster's thirds
	}
	if len(masters) != 3 {
		t.Fatalf("keys in %d thirds of the slots, want 3", len(masters))
	}
	yaml := `
version: 1
kafka: { brokers: "localhost:1", group: notes }
stores:
  postgres: { url: "${PG}" }
  redis: { url: "${REDIS}" }
sources:
  notes: { topic: app.public.notes, key: id, columns: { id: bigint, body: text } }
views:
  notes:
    from: notes
    fields: { id: id, body: body }
    sinks:
      redis: { key: "${PREFIX}note:{id}" }
`
	api := offlineServer(t, yaml, map[string]string{"PG": pgURL, "REDIS": testenv.RedisClusterURL(t), "PREFIX": prefix}, query.Options{})
	h := httptest.NewServer(api.Handler())
	defer h.Close()
	for id := 1; id <= n; id++ {
		st, body := call(t, h.URL, fmt.Sprintf("/v1/views/notes/docs/%d", id))
		if st != http.StatusOK || body["body"] != fmt.Sprintf("note %d", id) {
			t.Errorf("GET /docs/%d = %d %v, want 200 with note %d", id, st, body, id)
		}
	}
}
