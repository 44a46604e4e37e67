package query_test

import (
	"context"
	"net/http"
	"testing"
)

const refreshYAML = `
version: 1
kafka: { brokers: "${BROKERS}", group: query-test }
stores: { postgres: { url: "${PG}" } }
sources:
  posts: { topic: app.public.posts, key: id, columns: { id: bigint, at: timestamptz } }
views:
  recent:
    from: posts
    where: at > now() - duration("720h")
    refresh: 1h
    fields: { id: id }
    sinks: { postgres: { table: q_recent } }
  plain:
    from: posts
    fields: { id: id }
    sinks: { postgres: { table: q_plain } }
`

// TestViewsListRefresh: GET /v1/views says how often a view that reads the
// clock is refreshed and, once one ran, when the last started and the
// next is due; a view without a refresh has no such entry.
func TestViewsListRefresh(t *testing.T) {
	s := newShop(t, shopOptions{yaml: refreshYAML, topics: []string{"app.public.posts"}})
	refreshOf := func() map[string]any {
		t.Helper()
		st, body := s.get("/v1/views")
		mustStatus(t, "/v1/views", st, http.StatusOK, body)
		out := map[string]any{}
		for _, v := range body["views"].([]any) {
			m := v.(map[string]any)
			out[m["name"].(string)] = m["refresh"]
		}
		return out
	}
	got := refreshOf()
	if r, ok := got["recent"].(map[string]any); !ok || r["every"] != "1h0m0s" || r["last_started"] != nil || r["next_due"] != nil {
		t.Errorf("before any refresh: recent's refresh %v, want every 1h0m0s and no times", got["recent"])
	}
	if got["plain"] != nil {
		t.Errorf("plain's refresh %v, want none", got["plain"])
	}
	if _, err := s.pool.Exec(context.Background(), `INSERT INTO projector.refreshes (view, due_at, started_at, listing)
		VALUES ('recent', '2026-01-01T01:00:00Z', '2026-01-01T00:00:00Z', 'posts/')`); err != nil {
		t.Fatal(err)
	}
	r, _ := refreshOf()["recent"].(map[string]any)
	if r["last_started"] != "2026-01-01T00:00:00Z" || r["next_due"] != "2026-01-01T01:00:00Z" || r["running"] != false {
		t.Errorf("after a refresh: recent's refresh %v, want last_started 2026-01-01T00:00:00Z, next_due 2026-01-01T01:00:00Z, not running", r)
	}
	if _, err := s.pool.Exec(context.Background(), `UPDATE projector.refreshes SET holder = 'x', held_until = now() + interval '1 minute'`); err != nil {
		t.Fatal(err)
	}
	if r, _ := refreshOf()["recent"].(map[string]any); r["running"] != true {
		t.Errorf("while an instance holds it: recent's refresh %v, want running", r)
	}
}

// TestViewsListRefreshOfEarlierVersion: a refreshes table an earlier
// version created, without its hold, still gives the times (not running).
func TestViewsListRefreshOfEarlierVersion(t *testing.T) {
	s := newShop(t, shopOptions{yaml: refreshYAML, topics: []string{"app.public.posts"}})
	ctx := context.Background()
	if _, err := s.pool.Exec(ctx, `ALTER TABLE projector.refreshes DROP COLUMN holder, DROP COLUMN held_until`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO projector.refreshes (view, due_at, started_at, listing)
		VALUES ('recent', '2026-01-01T01:00:00Z', '2026-01-01T00:00:00Z', 'posts/')`); err != nil {
		t.Fatal(err)
	}
	st, body := s.get("/v1/views")
	mustStatus(t, "/v1/views", st, http.StatusOK, body)
	for _, v := range body["views"].([]any) {
		if m := v.(map[string]any); m["name"] == "recent" {
			if r, _ := m["refresh"].(map[string]any); r["next_due"] != "2026-01-01T01:00:00Z" || r["running"] != false {
				t.Errorf("recent's refresh %v, want next_due 2026-01-01T01:00:00Z, not running", r)
			}
			return
		}
	}
	t.Error("recent not listed")
}
