package query_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestPagingWhileWriting pages through the orders in several orders while
// a writer keeps updating fields that are not sorted on, inserting new
// docs and deleting doomed ones. Each page waits (min_position) for the
// writer's latest write, so pages and projected writes interleave. A doc
// that exists throughout must be seen exactly once; no doc twice.
func TestPagingWhileWriting(t *testing.T) {
	s := newShop(t, shopOptions{})
	s.user("u1", "Ada", "ada@example.com")
	rnd := rand.New(rand.NewPCG(1, 2))
	const stable, doomed = 120, 40
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	// The sort fields of a doc never change; many ties, and some NULLs.
	sortFields := func(id int64) row {
		r := row{"created_at": nil, "total": nil}
		if id%9 != 0 {
			r["created_at"] = base.Add(time.Duration(rnd.IntN(50)) * time.Hour).Format(time.RFC3339)
		}
		if id%7 != 0 {
			r["total"] = fmt.Sprintf("%d.%02d", rnd.IntN(20), rnd.IntN(100))
		}
		return r
	}
	fixed := map[int64]row{}
	for id := int64(1); id <= stable+doomed+500; id++ {
		fixed[id] = sortFields(id)
	}
	write := func(id int64, status, note string) int64 {
		return s.order(id, row{"user_id": "u1", "status": status, "note": note, "created_at": fixed[id]["created_at"], "total": fixed[id]["total"]})
	}
	for id := int64(1); id <= stable+doomed; id++ {
		write(id, "new", "v0")
	}
	s.caughtUp()

	var latest atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		wrnd := rand.New(rand.NewPCG(3, 4))
		next, del := int64(stable+doomed+1), int64(stable+1)
		for i := 0; ctx.Err() == nil; i++ {
			if i%4 == 3 {
				// Stay at most a few writes ahead of the engine, whatever
				// its speed, so that every page can wait for the latest.
				if status, body := s.get("/v1/views/orders/docs?limit=1&min_position=orders:" + lsnText(latest.Load())); status != http.StatusOK {
					t.Errorf("writer's wait: %d %v", status, body)
					return
				}
			}
			var lsn int64
			switch {
			case i%5 == 0 && del <= stable+doomed:
				lsn = s.deleteOrder(del)
				del++
			case i%5 == 1 && next <= stable+doomed+500:
				lsn = write(next, "new", "inserted")
				next++
			default:
				id := 1 + wrnd.Int64N(stable)
				lsn = write(id, []string{"new", "paid", "shipped"}[i%3], fmt.Sprintf("v%d", i))
			}
			latest.Store(lsn)
		}
	}()
	defer func() {
		cancel()
		wg.Wait()
	}()

	for _, sort := range []string{"", "-id", "created_at", "-created_at", "total", "-total"} {
		t.Run("sort="+sort, func(t *testing.T) {
			seen := map[string]int{}
			cursor := ""
			for pages := 0; ; pages++ {
				q := url.Values{"limit": {"7"}, "min_position": {"orders:" + lsnText(latest.Load())}}
				if sort != "" {
					q.Set("sort", sort)
				}
				if cursor != "" {
					q.Set("cursor", cursor)
				}
				path := "/v1/views/orders/docs?" + q.Encode()
				status, body := s.get(path)
				mustStatus(t, path, status, http.StatusOK, body)
				for _, d := range docs(body) {
					seen[string(d["id"].(json.Number))]++
				}
				next, _ := body["next_cursor"].(string)
				if next == "" {
					break
				}
				if pages > 200 {
					t.Fatal("paging does not end")
				}
				cursor = next
			}
			for id, n := range seen {
				if n > 1 {
					t.Errorf("doc %s seen %d times", id, n)
				}
			}
			for id := 1; id <= stable; id++ {
				if seen[fmt.Sprint(id)] != 1 {
					t.Errorf("stable doc %d seen %d times", id, seen[fmt.Sprint(id)])
				}
			}
			t.Logf("sort=%q: %d docs seen", sort, len(seen))
		})
	}
}

// TestPagingByLongSortKeys walks a list sorted by a text field whose
// values are kilobytes long, or short but made long by JSON escaping
// ("<" is \u003c): every next_cursor the server issues is accepted, stays
// short enough for a URL through a proxy, and continues the walk in both
// directions. When the doc a cursor continues after changes its sort key,
// the cursor is refused with stale_cursor rather than skipping docs.
func TestPagingByLongSortKeys(t *testing.T) {
	s := newShop(t, shopOptions{})
	s.user("u1", "Ada", "ada@example.com")
	notes := map[int64]string{
		1: "a" + strings.Repeat("x", 40000),
		2: "b" + strings.Repeat("<", 2000),
		3: "c",
		4: "d" + strings.Repeat("y", 7000),
	}
	for id, note := range notes {
		s.order(id, row{"user_id": "u1", "status": "new", "note": note, "total": "1.00"})
	}
	s.caughtUp()
	walk := func(sort string) []string {
		var got []string
		path := "/v1/views/orders/docs?limit=1&sort=" + sort
		for range len(notes) + 1 {
			status, body := s.get(path)
			mustStatus(t, path[:min(len(path), 200)], status, http.StatusOK, body)
			for _, d := range docs(body) {
				got = append(got, fmt.Sprint(d["id"]))
			}
			cur, ok := body["next_cursor"].(string)
			if !ok {
				return got
			}
			if len(cur) > 4096 {
				t.Errorf("sort=%s: a cursor of %d bytes", sort, len(cur))
			}
			path = "/v1/views/orders/docs?limit=1&sort=" + sort + "&cursor=" + url.QueryEscape(cur)
		}
		t.Fatalf("sort=%s: the walk does not end: %v", sort, got)
		return nil
	}
	if got := walk("note"); fmt.Sprint(got) != "[1 2 3 4]" {
		t.Errorf("sort=note: %v", got)
	}
	if got := walk("-note"); fmt.Sprint(got) != "[4 3 2 1]" {
		t.Errorf("sort=-note: %v", got)
	}

	status, body := s.get("/v1/views/orders/docs?limit=1&sort=note")
	mustStatus(t, "first page", status, http.StatusOK, body)
	cur, _ := body["next_cursor"].(string)
	s.order(1, row{"user_id": "u1", "status": "new", "note": "e" + strings.Repeat("x", 40000), "total": "1.00"})
	s.caughtUp()
	status, body = s.get("/v1/views/orders/docs?limit=1&sort=note&cursor=" + url.QueryEscape(cur))
	if status != http.StatusBadRequest || body["code"] != "stale_cursor" {
		t.Errorf("cursor after the doc was re-sorted: %d %v, want 400 stale_cursor", status, body)
	}
}
