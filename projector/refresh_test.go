package projector_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks"
)

// liveWhere keeps the posts published and not expired, now.
const liveWhere = `publish_at <= now() and (expires_at == nil or expires_at > now())`

const refreshYAML = `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://unused/x" } }
sources:
  posts: { topic: t.public.posts, format: json, key: id, columns: { id: bigint, author: text, title: text, publish_at: timestamptz, expires_at: timestamptz } }
views:
  live:
    from: posts
    where: ` + liveWhere + `
    refresh: 1s
    fields: { id: id, title: title }
    sinks: { postgres: {} }
  live_counts:
    from: posts
    group_by: author
    refresh: 1s
    fields:
      author: author
      live: { agg: count, where: "` + liveWhere + `" }
    sinks: { postgres: {} }
`

// watchedSink is a viewSink that says when it was written to.
type watchedSink struct {
	*viewSink
	written chan struct{}
}

func (s watchedSink) Write(ctx context.Context, docs []sinks.Doc) error {
	err := s.viewSink.Write(ctx, docs)
	select {
	case s.written <- struct{}{}:
	default:
	}
	return err
}

// TestRefreshFollowsTheClock: a view whose where reads the clock, with a
// refresh, loses the post that expired and gains the one whose time came,
// with no change to their rows; a group's aggregate reading the clock
// follows too. A post whose absence a refresh wrote, still absent, is not
// written again.
func TestRefreshFollowsTheClock(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, refreshYAML, nil)
	sink := watchedSink{viewSink: newViewSink(), written: make(chan struct{}, 1)}
	eng := newEngine(t, pool, plan, sink, nil)
	ctx := t.Context()

	// The clock's edge is a few seconds ahead: the posts are applied well
	// before it, and the refreshes (every second) cross it.
	now := time.Now()
	edge := now.Add(3 * time.Second)
	past := now.Add(-time.Hour)
	at := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	post := func(id int, author string, publish time.Time, expires *time.Time) map[string]any {
		row := map[string]any{"id": json.Number(strconv.Itoa(id)), "author": author, "title": fmt.Sprint("p", id), "publish_at": at(publish), "expires_at": nil}
		if expires != nil {
			row["expires_at"] = at(*expires)
		}
		return row
	}
	var chs []debezium.Change
	for i, row := range []map[string]any{
		post(1, "a", past, &edge), // expires at the edge
		post(2, "b", edge, nil),   // published at the edge
		post(3, "a", past, nil),   // always live
		post(4, "c", past, &past), // expired long ago
	} {
		chs = append(chs, debezium.Change{Kind: debezium.KindChange, Op: debezium.OpUpdate, Position: debezium.Position{Lo: int64(i + 1)}, After: row})
	}
	if err := eng.ProcessChanges(ctx, "posts", chs); err != nil {
		t.Fatal(err)
	}
	if time.Now().After(edge) {
		t.Skip("the posts took longer to apply than the clock's margin")
	}
	state := func() (live map[string]bool, counts map[string]any, rev4 int64) {
		sink.mu.Lock()
		defer sink.mu.Unlock()
		live, counts = map[string]bool{}, map[string]any{}
		for id := range 4 {
			d, ok := sink.docs[fmt.Sprint("live/", id+1)]
			live[fmt.Sprint(id+1)] = ok && !d.Deleted
		}
		for _, a := range []string{"a", "b", "c"} {
			counts[a] = sink.docs["live_counts/"+a].Fields["live"]
		}
		return live, counts, sink.docs["live/4"].Rev
	}
	// A first refresh writes the absence of post 4 once more (a batch
	// wrote it, not a refresh): the refreshes after it leave it be.
	if _, err := eng.Refresh(ctx, "live", "", nil); err != nil {
		t.Fatal(err)
	}
	live, counts, rev4 := state()
	if want := map[string]bool{"1": true, "2": false, "3": true, "4": false}; fmt.Sprint(live) != fmt.Sprint(want) {
		t.Fatalf("before the edge: live %v, want %v", live, want)
	}
	if want := map[string]any{"a": 2, "b": 0, "c": 0}; fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Fatalf("before the edge: counts %v, want %v", counts, want)
	}

	refreshing, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { eng.KeepRefreshing(refreshing) })
	defer func() { stop(); wg.Wait() }()
	want := map[string]bool{"1": false, "2": true, "3": true, "4": false}
	wantCounts := map[string]any{"a": 1, "b": 1, "c": 0}
	deadline := time.After(30 * time.Second)
	for {
		live, counts, _ = state()
		if fmt.Sprint(live) == fmt.Sprint(want) && fmt.Sprint(counts) == fmt.Sprint(wantCounts) {
			break
		}
		select {
		case <-sink.written:
		case <-deadline:
			t.Fatalf("30s after the edge: live %v, counts %v; want %v, %v", live, counts, want, wantCounts)
		}
	}
	if _, _, rev := state(); rev != rev4 {
		t.Errorf("the post expired long ago was written again by a refresh (revision %d, was %d)", rev, rev4)
	}
}
