package elasticsearch

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/projectorhq/projector/sinks"
)

func itemDoc(id string, rev int64, deleted bool) sinks.Doc {
	d := sinks.Doc{View: "items", ID: id, Key: map[string]any{"id": json.Number(id)}, Rev: rev, Deleted: deleted}
	if !deleted {
		d.Fields = map[string]any{"id": json.Number(id), "title": "item " + id}
	}
	return d
}

func wantAPIError(t *testing.T, what string, err error, status int, typ string) {
	t.Helper()
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != status || typ != "" && ae.Type != typ {
		t.Fatalf("%s = %v, want an APIError %d %s", what, err, status, typ)
	}
}

// TestElasticsearchAdmin: the index and alias calls a rebuild makes, on
// the indices of two generations of one view.
func TestElasticsearchAdmin(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		if b.fake != nil {
			// A stopped clock: esfake's periodic refresh never runs, so
			// only Refresh makes writes searchable.
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			b.fake.SetNow(func() time.Time { return now })
		}
		s := b.newSink(t, nil, View{Name: "items", Fields: itemFields})
		alias := b.prefix + "items"
		g1, g2 := alias+"-g1", alias+"-g2"
		docs := []sinks.Doc{itemDoc("1", 1, false), itemDoc("2", 1, false), itemDoc("3", 1, false)}
		if err := s.Write(ctx, docs); err != nil {
			t.Fatalf("Write: %v", err)
		}
		if err := s.Write(ctx, []sinks.Doc{itemDoc("2", 2, true)}); err != nil {
			t.Fatalf("Write tombstone: %v", err)
		}

		ids := []string{"1", "2", "3", "4"}
		if b.fake != nil {
			live, err := s.LiveIDs(ctx, g1, ids)
			if err != nil || len(live) != 0 {
				t.Fatalf("LiveIDs before Refresh = %v, %v; want none", live, err)
			}
		}
		if err := s.Refresh(ctx, g1); err != nil {
			t.Fatalf("Refresh: %v", err)
		}
		live, err := s.LiveIDs(ctx, g1, ids)
		if want := map[string]bool{"1": true, "3": true}; err != nil || !reflect.DeepEqual(live, want) {
			t.Fatalf("LiveIDs = %v, %v; want %v (2 is a tombstone, 4 was never written)", live, err, want)
		}
		if live, err := s.LiveIDs(ctx, g1, nil); err != nil || len(live) != 0 {
			t.Fatalf("LiveIDs of no ids = %v, %v", live, err)
		}

		if on, err := s.AliasIndices(ctx, alias); err != nil || !reflect.DeepEqual(on, []string{g1}) {
			t.Fatalf("AliasIndices = %v, %v; want [%s]", on, err, g1)
		}
		if on, err := s.AliasIndices(ctx, b.prefix+"nope"); err != nil || len(on) != 0 {
			t.Fatalf("AliasIndices of a missing alias = %v, %v; want none", on, err)
		}
		b.newSink(t, nil, View{Name: "items", Alias: "items", Fields: itemFields, Generation: 2})
		if status, out := b.do(t, http.MethodPost, "/_aliases", map[string]any{"actions": []any{
			map[string]any{"add": map[string]any{"index": g2, "alias": alias}},
		}}); status != http.StatusOK {
			t.Fatalf("add alias: %d %v", status, out)
		}
		if on, err := s.AliasIndices(ctx, alias); err != nil || !reflect.DeepEqual(on, []string{g1, g2}) {
			t.Fatalf("AliasIndices = %v, %v; want [%s %s]", on, err, g1, g2)
		}

		wantAPIError(t, "DeleteIndex of an alias", s.DeleteIndex(ctx, alias), http.StatusBadRequest, "illegal_argument_exception")
		if err := s.DeleteIndex(ctx, g1); err != nil {
			t.Fatalf("DeleteIndex: %v", err)
		}
		if status, out := b.do(t, http.MethodGet, "/"+g1, nil); status != http.StatusNotFound {
			t.Fatalf("GET %s after DeleteIndex: %d %v", g1, status, out)
		}
		if err := s.DeleteIndex(ctx, g1); err != nil {
			t.Fatalf("DeleteIndex of a missing index: %v", err)
		}
		if on, err := s.AliasIndices(ctx, alias); err != nil || !reflect.DeepEqual(on, []string{g2}) {
			t.Fatalf("AliasIndices after deleting %s = %v, %v; want [%s]", g1, on, err, g2)
		}
		wantAPIError(t, "Refresh of a missing index", s.Refresh(ctx, g1), http.StatusNotFound, "index_not_found_exception")
		_, err = s.LiveIDs(ctx, g1, ids)
		wantAPIError(t, "LiveIDs of a missing index", err, http.StatusNotFound, "index_not_found_exception")
	})
}

// TestElasticsearchLiveIDsPages: more ids than one search page may return
// (index.max_result_window) are asked in several searches.
func TestElasticsearchLiveIDsPages(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		s := b.newSink(t, nil, View{Name: "items", Fields: itemFields})
		index := b.prefix + "items-g1"
		if err := s.Write(ctx, []sinks.Doc{itemDoc("1", 1, false), itemDoc("2", 1, false)}); err != nil {
			t.Fatalf("Write: %v", err)
		}
		if err := s.Refresh(ctx, index); err != nil {
			t.Fatalf("Refresh: %v", err)
		}
		ids := []string{"1"}
		for i := range maxResultWindow + 2 {
			ids = append(ids, "x"+strconv.Itoa(i))
		}
		ids = append(ids, "2")
		live, err := s.LiveIDs(ctx, index, ids)
		if want := map[string]bool{"1": true, "2": true}; err != nil || !reflect.DeepEqual(live, want) {
			t.Fatalf("LiveIDs of %d ids = %v, %v; want %v", len(ids), live, err, want)
		}
	})
}

func TestElasticsearchAdminRefusesNames(t *testing.T) {
	// Nothing listens there: a name that got past the check would fail
	// with ErrUnreachable instead.
	s, err := New(Config{URL: "http://127.0.0.1:9", Retries: -1}, []View{{Name: "items"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ctx := context.Background()
	for _, name := range []string{"", "items-*", "a,b", "Items", "_all", "a/b", "..", "-x"} {
		t.Run(strconv.Quote(name), func(t *testing.T) {
			_, err := s.AliasIndices(ctx, name)
			_, err2 := s.LiveIDs(ctx, name, []string{"1"})
			for what, err := range map[string]error{
				"DeleteIndex": s.DeleteIndex(ctx, name), "Refresh": s.Refresh(ctx, name),
				"AliasIndices": err, "LiveIDs": err2,
			} {
				if !errors.Is(err, ErrInvalidName) {
					t.Errorf("%s(%q) = %v, want ErrInvalidName", what, name, err)
				}
			}
		})
	}
}

func TestElasticsearchAdminOutage(t *testing.T) {
	b := fakeBackend(t)
	s := b.newSink(t, nil, View{Name: "items", Fields: itemFields})
	ctx := context.Background()
	alias := b.prefix + "items"
	b.fake.Down(true)
	_, err := s.AliasIndices(ctx, alias)
	_, err2 := s.LiveIDs(ctx, alias+"-g1", []string{"1"})
	for what, err := range map[string]error{
		"DeleteIndex": s.DeleteIndex(ctx, alias+"-g1"), "Refresh": s.Refresh(ctx, alias+"-g1"),
		"AliasIndices": err, "LiveIDs": err2,
	} {
		if !errors.Is(err, ErrUnreachable) {
			t.Errorf("%s during an outage = %v, want ErrUnreachable", what, err)
		}
	}
	b.fake.Down(false)
	if on, err := s.AliasIndices(ctx, alias); err != nil || len(on) != 1 {
		t.Fatalf("AliasIndices after the outage = %v, %v", on, err)
	}
}

// TestElasticsearchCallDecodes: a 2xx answer that is not the JSON asked
// for is an error, not an empty result.
func TestElasticsearchCallDecodes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`["not", "an", "object"]`))
	}))
	t.Cleanup(srv.Close)
	s, err := New(Config{URL: srv.URL}, []View{{Name: "items"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	on, err := s.AliasIndices(context.Background(), "items")
	var ae *APIError
	if err == nil || errors.As(err, &ae) {
		t.Fatalf("AliasIndices of an answer that does not decode = %v, %v; want a decode error", on, err)
	}
}
