package elasticsearch

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/projectorhq/projector/sinks"
)

var itemFields = []Field{{"id", "bigint"}, {"title", "text"}, {"qty", "integer"}, {"price", "numeric(10,2)"}}

func put(rev int64, title string) sinks.Doc {
	return sinks.Doc{View: "items", ID: "1", Key: map[string]any{"id": json.Number("1")}, Rev: rev,
		Fields: map[string]any{"id": json.Number("1"), "title": title}}
}

func del(rev int64) sinks.Doc {
	return sinks.Doc{View: "items", ID: "1", Key: map[string]any{"id": json.Number("1")}, Rev: rev, Deleted: true}
}

// visible is what a reader sees of doc 1 through the alias: tombstones are
// absent.
func visible(t *testing.T, b *backend, alias string) (stored, bool) {
	t.Helper()
	got := b.get(t, alias, "1")
	if !got.found || got.source[DeletedField] == true {
		return got, false
	}
	return got, true
}

func TestElasticsearchWriteRevisions(t *testing.T) {
	tests := []struct {
		name      string
		batches   [][]sinks.Doc
		wantTitle string // "" when the doc must be absent
		wantRev   int64  // the stored version (a tombstone's too)
		wantStale uint64
	}{
		{"create", [][]sinks.Doc{{put(1, "a")}}, "a", 1, 0},
		{"update with a higher rev", [][]sinks.Doc{{put(1, "a")}, {put(2, "b")}}, "b", 2, 0},
		{"older rev is stale: skipped and counted", [][]sinks.Doc{{put(2, "b")}, {put(1, "a")}}, "b", 2, 1},
		{"replay of the same rev is stale", [][]sinks.Doc{{put(2, "b")}, {put(2, "b")}}, "b", 2, 1},
		{"same rev with other content does not overwrite", [][]sinks.Doc{{put(2, "b")}, {put(2, "x")}}, "b", 2, 1},
		{"out of order within one batch", [][]sinks.Doc{{put(2, "b"), put(1, "a")}}, "b", 2, 1},
		{"delete", [][]sinks.Doc{{put(1, "a")}, {del(2)}}, "", 2, 0},
		{"older write after a delete is stale", [][]sinks.Doc{{put(1, "a")}, {del(3)}, {put(2, "b")}}, "", 3, 1},
		{"higher rev resurrects a deleted doc", [][]sinks.Doc{{put(1, "a")}, {del(2)}, {put(3, "c")}}, "c", 3, 0},
		{"older delete is stale", [][]sinks.Doc{{put(3, "c")}, {del(2)}}, "c", 3, 1},
		{"delete of a never written doc guards it", [][]sinks.Doc{{del(5)}, {put(4, "a")}}, "", 5, 1},
	}
	forEachBackend(t, func(t *testing.T, b *backend) {
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				view := View{Name: "items", Alias: "items" + string(rune('a'+i)), Fields: itemFields}
				s := b.newSink(t, nil, view)
				alias := b.prefix + view.Alias
				for n, batch := range tt.batches {
					if err := s.Write(context.Background(), batch); err != nil {
						t.Fatalf("batch %d: %v", n, err)
					}
				}
				got, ok := visible(t, b, alias)
				switch {
				case tt.wantTitle == "" && ok:
					t.Fatalf("doc visible with %v, want absent", got.source)
				case tt.wantTitle != "" && (!ok || got.source["title"] != tt.wantTitle):
					t.Fatalf("doc = %v (visible %t), want title %q", got.source, ok, tt.wantTitle)
				}
				if got.version != tt.wantRev {
					t.Errorf("stored version = %d, want %d", got.version, tt.wantRev)
				}
				if s.Stale() != tt.wantStale {
					t.Errorf("Stale() = %d, want %d", s.Stale(), tt.wantStale)
				}
				wantCount := 0
				if tt.wantTitle != "" {
					wantCount = 1
				}
				if n := b.count(t, alias); n != wantCount {
					t.Errorf("count through alias = %d, want %d", n, wantCount)
				}
			})
		}
	})
}

// TestElasticsearchTombstoneOutlivesGCDeletes shows why deletes are
// tombstone documents: Elasticsearch forgets a real delete's version after
// index.gc_deletes (60s), but a tombstone keeps refusing older revs.
func TestElasticsearchTombstoneOutlivesGCDeletes(t *testing.T) {
	b := fakeBackend(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b.fake.SetNow(func() time.Time { return now })
	s := b.newSink(t, nil, View{Name: "items", Fields: itemFields})
	ctx := context.Background()
	if err := s.Write(ctx, []sinks.Doc{put(1, "a"), del(3)}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(10 * time.Minute)
	if err := s.Write(ctx, []sinks.Doc{put(2, "late")}); err != nil {
		t.Fatal(err)
	}
	if got, ok := visible(t, b, b.prefix+"items"); ok {
		t.Fatalf("stale write resurrected the doc: %v", got.source)
	}
	if s.Stale() != 1 {
		t.Fatalf("Stale() = %d, want 1", s.Stale())
	}
}

func TestElasticsearchTombstoneContent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		s := b.newSink(t, nil, View{Name: "items", Fields: itemFields})
		if err := s.Write(context.Background(), []sinks.Doc{del(7)}); err != nil {
			t.Fatal(err)
		}
		got := b.get(t, b.prefix+"items", "1")
		if !got.found || got.version != 7 || got.source[DeletedField] != true || got.source["id"] != 1.0 {
			t.Fatalf("tombstone = %+v, want _deleted, id 1, version 7", got)
		}
		if _, err := time.Parse(time.RFC3339Nano, got.source[DeletedAtField].(string)); err != nil {
			t.Fatalf("%s = %v: %v", DeletedAtField, got.source[DeletedAtField], err)
		}
	})
}

func failedIndexes(t *testing.T, err error) []int {
	t.Helper()
	var be *sinks.BatchError
	if !errors.As(err, &be) {
		t.Fatalf("error = %v, want *sinks.BatchError", err)
	}
	var idx []int
	for i := range be.Failed {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	return idx
}

func TestElasticsearchMappingErrorReportedPerItem(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		s := b.newSink(t, nil, View{Name: "items", Fields: itemFields})
		doc := func(id, qty string) sinks.Doc {
			return sinks.Doc{View: "items", ID: id, Rev: 1, Fields: map[string]any{"title": "t" + id, "qty": qty}}
		}
		err := s.Write(context.Background(), []sinks.Doc{doc("a", "1"), doc("b", "not a number"), doc("c", "3")})
		if got := failedIndexes(t, err); !reflect.DeepEqual(got, []int{1}) {
			t.Fatalf("failed indexes = %v, want [1]", got)
		}
		itemErr := err.(*sinks.BatchError).Failed[1]
		var ae *APIError
		// Elasticsearch 8.8+ says document_parsing_exception, older
		// releases mapper_parsing_exception; esfake speaks the newer.
		wantType := "document_parsing_exception"
		if errors.As(itemErr, &ae) && b.fake == nil && ae.Type == "mapper_parsing_exception" {
			wantType = ae.Type
		}
		if !errors.Is(itemErr, ErrMapping) || ae == nil || ae.Status != 400 || ae.Type != wantType {
			t.Fatalf("item error = %#v, want 400 %s (ErrMapping)", itemErr, wantType)
		}
		for _, id := range []string{"a", "c"} {
			if !b.get(t, b.prefix+"items", id).found {
				t.Errorf("doc %s not stored", id)
			}
		}
	})
}

func TestElasticsearchInvalidDocsReportedPerItem(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		s := b.newSink(t, nil, View{Name: "items", Fields: itemFields})
		docs := []sinks.Doc{
			{View: "nope", ID: "1", Rev: 1, Fields: map[string]any{}},
			{View: "items", ID: "", Rev: 1, Fields: map[string]any{}},
			{View: "items", ID: "2", Rev: -1, Fields: map[string]any{}},
			{View: "items", ID: "3", Rev: 1, Fields: map[string]any{"bad": func() {}}},
			{View: "items", ID: "ok", Rev: 1, Fields: map[string]any{"title": "fine"}},
		}
		err := s.Write(context.Background(), docs)
		if got := failedIndexes(t, err); !reflect.DeepEqual(got, []int{0, 1, 2, 3}) {
			t.Fatalf("failed indexes = %v, want [0 1 2 3]", got)
		}
		be := err.(*sinks.BatchError)
		if !errors.Is(be.Failed[0], ErrUnknownView) {
			t.Errorf("#0: %v, want ErrUnknownView", be.Failed[0])
		}
		for _, i := range []int{1, 2, 3} {
			if !errors.Is(be.Failed[i], ErrInvalidDoc) {
				t.Errorf("#%d: %v, want ErrInvalidDoc", i, be.Failed[i])
			}
		}
		if !b.get(t, b.prefix+"items", "ok").found {
			t.Fatal("the valid doc was not stored")
		}
	})
}

func TestElasticsearchEmptyBatch(t *testing.T) {
	b := fakeBackend(t)
	s := b.newSink(t, nil, View{Name: "items"})
	before := b.fake.BulkRequests()
	if err := s.Write(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if b.fake.BulkRequests() != before {
		t.Fatal("an empty batch sent a request")
	}
	if s.Name() != "elasticsearch" {
		t.Fatalf("Name() = %q", s.Name())
	}
}
