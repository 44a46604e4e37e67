package elasticsearch

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/projectorhq/projector/sinks"
)

// TestPurgeSweepsEveryViewWhateverOneFails: a view whose index fails the
// purge (closed, red past the retries) does not keep the other views'
// tombstones: every view is swept, and each failure is reported, joined,
// with the count of what the others purged.
func TestPurgeSweepsEveryViewWhateverOneFails(t *testing.T) {
	for _, tc := range []struct {
		name   string
		inject func(b *backend, retries int)
		failed []string // views whose failure is reported
		is     func(error) bool
	}{
		{"closed index", func(b *backend, _ int) {
			b.fake.FailNextSearch(1, 400, "index_closed_exception")
		}, []string{"a"}, isAPIError(400, "index_closed_exception")},
		{"red index past the retries", func(b *backend, retries int) {
			b.fake.FailNextSearch(retries+1, 503, "unavailable_shards_exception")
		}, []string{"a"}, isUnavailable},
		{"two views closed", func(b *backend, _ int) {
			b.fake.FailNextSearch(2, 400, "index_closed_exception")
		}, []string{"a", "b"}, isAPIError(400, "index_closed_exception")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const retries = 1
			b := fakeBackend(t)
			views := []View{{Name: "a", Fields: itemFields}, {Name: "b", Fields: itemFields}, {Name: "c", Fields: itemFields}}
			s := b.newSink(t, func(c *Config) { c.Retries = retries }, views...)
			at := t0
			s.now = func() time.Time { return at }
			ctx := context.Background()
			var docs []sinks.Doc
			for _, v := range views {
				docs = append(docs, sinks.Doc{View: v.Name, ID: "1", Key: map[string]any{"id": json.Number("1")}, Rev: 2, Deleted: true})
			}
			if err := s.Write(ctx, docs); err != nil {
				t.Fatal(err)
			}
			for _, v := range s.order {
				if err := s.Refresh(ctx, v.index); err != nil {
					t.Fatal(err)
				}
			}
			tc.inject(b, retries)
			at = t0.Add(48 * time.Hour)
			n, err := s.PurgeTombstones(ctx, time.Hour)
			if want := int64(len(views) - len(tc.failed)); n != want {
				t.Errorf("purged %d, want %d: every view but the failing ones", n, want)
			}
			if err == nil || !tc.is(err) {
				t.Fatalf("PurgeTombstones error = %v, want the failure", err)
			}
			for _, v := range s.order {
				failing := slices.Contains(tc.failed, v.Name)
				if reported := strings.Contains(err.Error(), "view "+v.Name+":"); reported != failing {
					t.Errorf("view %s: in the error %v, want %v: %v", v.Name, reported, failing, err)
				}
				want := "absent"
				if failing {
					want = "tombstone"
				}
				if got := inIndex(t, b, v.index, "1"); got != want {
					t.Errorf("view %s's tombstone: %s after the sweep, want %s", v.Name, got, want)
				}
			}
		})
	}
}

// TestPurgeStopsWhenCancelled: a sweep whose context is done stops, and
// says why, rather than trying each remaining view.
func TestPurgeStopsWhenCancelled(t *testing.T) {
	b := fakeBackend(t)
	s := b.newSink(t, nil, View{Name: "a", Fields: itemFields}, View{Name: "b", Fields: itemFields})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	searches := b.fake.SearchRequests()
	if _, err := s.PurgeTombstones(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("PurgeTombstones with a cancelled context = %v, want context.Canceled", err)
	}
	if got := b.fake.SearchRequests() - searches; got != 0 {
		t.Fatalf("%d searches after the context was cancelled, want none", got)
	}
}
