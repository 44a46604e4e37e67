package elasticsearch

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/projectorhq/projector/sinks"
	"github.com/projectorhq/projector/sinks/elasticsearch/esfake"
)

// t0 is when the tests' sink clock starts; tombstones are stamped with the
// sink's clock, so moving it ages them without waiting.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// purgeSink is a sink for view "items" whose clock the test sets.
type purgeSink struct {
	*Sink
	at    time.Time
	index string // the generation index, where tombstones live
	alias string
}

func newPurgeSink(t *testing.T, b *backend, cfg func(*Config)) *purgeSink {
	t.Helper()
	p := &purgeSink{Sink: b.newSink(t, cfg, View{Name: "items", Fields: itemFields}), at: t0,
		index: b.prefix + "items-g1", alias: b.prefix + "items"}
	p.now = func() time.Time { return p.at }
	return p
}

func (p *purgeSink) write(t *testing.T, at time.Time, docs ...sinks.Doc) {
	t.Helper()
	p.at = at
	if err := p.Write(context.Background(), docs); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

// refresh makes the writes so far visible to the purge's search.
func (p *purgeSink) refresh(t *testing.T) {
	t.Helper()
	if err := p.Refresh(context.Background(), p.index); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
}

func (p *purgeSink) purge(t *testing.T, at time.Time, olderThan time.Duration) int64 {
	t.Helper()
	p.at = at
	n, err := p.PurgeTombstones(context.Background(), olderThan)
	if err != nil {
		t.Fatalf("PurgeTombstones(%v) at %v: %v", olderThan, at, err)
	}
	return n
}

func liveDoc(id string, rev int64) sinks.Doc {
	return sinks.Doc{View: "items", ID: id, Key: map[string]any{"id": json.Number(id)}, Rev: rev,
		Fields: map[string]any{"id": json.Number(id), "title": "doc " + id}}
}

func tombstone(id string, rev int64) sinks.Doc {
	return sinks.Doc{View: "items", ID: id, Key: map[string]any{"id": json.Number(id)}, Rev: rev, Deleted: true}
}

// inIndex is what the generation index holds for id: "absent", "tombstone"
// or "live".
func inIndex(t *testing.T, b *backend, index, id string) string {
	t.Helper()
	got := b.get(t, index, id)
	switch {
	case !got.found:
		return "absent"
	case got.source[DeletedField] == true:
		return "tombstone"
	}
	return "live"
}

func assertHolds(t *testing.T, b *backend, index string, want map[string]string) {
	t.Helper()
	for id, w := range want {
		if got := inIndex(t, b, index, id); got != w {
			t.Errorf("doc %s: %s, want %s", id, got, w)
		}
	}
}

func TestElasticsearchPurgeTombstones(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		p := newPurgeSink(t, b, nil)
		p.write(t, t0, liveDoc("1", 1), liveDoc("2", 1), liveDoc("3", 1))
		p.write(t, t0, tombstone("1", 2))
		p.write(t, t0.Add(time.Hour), tombstone("4", 5)) // a delete of a doc never written
		p.write(t, t0.Add(2*time.Hour), tombstone("2", 2))
		p.refresh(t)
		now := t0.Add(3 * time.Hour)

		// The cutoff is t0+1h: only doc 1's tombstone is older; doc 4's,
		// stamped at the cutoff itself, is not.
		if n := p.purge(t, now, 2*time.Hour); n != 1 {
			t.Fatalf("purged %d, want 1", n)
		}
		assertHolds(t, b, p.index, map[string]string{"1": "absent", "2": "tombstone", "3": "live", "4": "tombstone"})
		if n := p.purge(t, now, 2*time.Hour); n != 0 {
			t.Fatalf("purging again purged %d, want 0", n)
		}
		if n := p.purge(t, now, 90*time.Minute); n != 1 {
			t.Fatalf("purge older than 90m purged %d, want 1 (doc 4)", n)
		}
		if n := p.purge(t, now, 0); n != 1 {
			t.Fatalf("purge older than 0 purged %d, want 1 (doc 2)", n)
		}
		assertHolds(t, b, p.index, map[string]string{"1": "absent", "2": "absent", "3": "live", "4": "absent"})
		if n := b.count(t, p.alias); n != 1 {
			t.Fatalf("count through the alias = %d, want 1", n)
		}
	})
}

// After a purge the id is free: a later revision is stored and visible.
func TestElasticsearchPurgeThenWriteAgain(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		p := newPurgeSink(t, b, nil)
		p.write(t, t0, put(1, "a"), del(2))
		p.refresh(t)
		if n := p.purge(t, t0.Add(time.Hour), 30*time.Minute); n != 1 {
			t.Fatalf("purged %d, want 1", n)
		}
		p.write(t, t0.Add(time.Hour), put(4, "again"))
		got, ok := visible(t, b, p.alias)
		if !ok || got.source["title"] != "again" || got.version != 4 {
			t.Fatalf("doc after purge and write = %v (visible %t), want title again at rev 4", got, ok)
		}
		if p.Stale() != 0 {
			t.Fatalf("Stale = %d, want 0", p.Stale())
		}
	})
}

// The engine gives a doc created again the revision right after its
// delete's. The purge deletes the tombstone at the tombstone's own Rev, so
// for index.gc_deletes Elasticsearch remembers that Rev, not Rev+1: the
// recreate at Rev+1 right after the purge is stored, while a replay of the
// delete's Rev is still refused. (A delete by query records Rev+1 and
// refused the recreate: a lost write.)
func TestElasticsearchPurgeThenWriteNextRev(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		p := newPurgeSink(t, b, nil)
		p.write(t, t0, put(1, "a"), del(2))
		p.refresh(t)
		if n := p.purge(t, t0.Add(time.Hour), 0); n != 1 {
			t.Fatalf("purged %d, want 1", n)
		}
		if got := inIndex(t, b, p.index, "1"); got != "absent" {
			t.Fatalf("doc after purge: %s, want absent", got)
		}
		p.write(t, t0.Add(time.Hour), put(2, "replayed"))
		if _, ok := visible(t, b, p.alias); ok || p.Stale() != 1 {
			t.Fatalf("replay of rev 2 within gc_deletes: visible %t, Stale %d; want refused as stale", ok, p.Stale())
		}
		p.write(t, t0.Add(time.Hour), put(3, "back"))
		got, ok := visible(t, b, p.alias)
		if !ok || got.source["title"] != "back" || got.version != 3 {
			t.Fatalf("rev 3 right after the purge = %v (visible %t), want title back at rev 3", got, ok)
		}
		if p.Stale() != 1 {
			t.Fatalf("Stale = %d, want 1 (the replay only)", p.Stale())
		}
	})
}

// frozenFake is an esfake backend whose clock stands still, so it never
// refreshes on its own: what the purge's search sees is what the test
// refreshed.
func frozenFake(t *testing.T) *backend {
	t.Helper()
	b := fakeBackend(t)
	at := time.Now()
	b.fake.SetNow(func() time.Time { return at })
	return b
}

// The race the versioned delete guards against: the tombstone is in the
// purge's search (refreshed), but the doc was written again at a higher Rev
// since (not refreshed). Only esfake can hold the search's view still (a
// real cluster refreshes on its own schedule). The page of one also proves
// the purge stops when a full page deleted nothing, instead of finding the
// same hit again and again.
func TestElasticsearchPurgeKeepsRewrittenDoc(t *testing.T) {
	tests := []struct {
		name    string
		rewrite sinks.Doc
		want    string // what the index holds after the purge
	}{
		{"recreated", put(3, "back"), "live"},
		{"deleted again", del(3), "tombstone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := frozenFake(t)
			p := newPurgeSink(t, b, nil)
			p.purgePage = 1
			p.write(t, t0, put(1, "a"), del(2))
			p.refresh(t)
			p.write(t, t0.Add(time.Hour), tt.rewrite) // not refreshed
			bulks := b.fake.BulkRequests()
			if n := p.purge(t, t0.Add(2*time.Hour), 0); n != 0 {
				t.Fatalf("purged %d, want 0: the tombstone was replaced", n)
			}
			if got := b.fake.BulkRequests() - bulks; got != 1 {
				t.Fatalf("bulk requests = %d, want 1 (the delete, refused)", got)
			}
			if got := b.fake.SearchRequests(); got != 1 {
				t.Fatalf("search requests = %d, want 1", got)
			}
			got := b.get(t, p.index, "1")
			if inIndex(t, b, p.index, "1") != tt.want || got.version != 3 {
				t.Fatalf("doc after purge = %v, want %s at rev 3", got, tt.want)
			}
			if p.Stale() != 0 {
				t.Fatalf("Stale = %d, want 0: a kept doc is not a stale write", p.Stale())
			}
		})
	}
	t.Run("recreated doc stays visible", func(t *testing.T) {
		b := frozenFake(t)
		p := newPurgeSink(t, b, nil)
		p.write(t, t0, put(1, "a"), del(2))
		p.refresh(t)
		p.write(t, t0.Add(time.Hour), put(3, "back"))
		p.purge(t, t0.Add(time.Hour), 0)
		got, ok := visible(t, b, p.alias)
		if !ok || got.source["title"] != "back" || got.version != 3 {
			t.Fatalf("recreated doc = %v (visible %t), want title back at rev 3", got, ok)
		}
	})
}

// Rounds: each finds a page of tombstones, deletes them and refreshes, until
// a round finds less than a page.
func TestElasticsearchPurgeRounds(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		p := newPurgeSink(t, b, nil)
		p.purgePage = 2
		p.write(t, t0, tombstone("1", 1), tombstone("2", 3), tombstone("3", 1), tombstone("4", 7),
			tombstone("5", 1), liveDoc("6", 1))
		p.refresh(t)
		searches := 0
		if b.fake != nil {
			searches = b.fake.SearchRequests()
		}
		if n := p.purge(t, t0.Add(time.Hour), 0); n != 5 {
			t.Fatalf("purged %d, want 5", n)
		}
		if b.fake != nil {
			if got := b.fake.SearchRequests() - searches; got != 3 {
				t.Fatalf("search requests = %d, want 3 (pages of 2, 2, 1)", got)
			}
		}
		assertHolds(t, b, p.index, map[string]string{"1": "absent", "2": "absent", "3": "absent", "4": "absent",
			"5": "absent", "6": "live"})
		if n := p.purge(t, t0.Add(time.Hour), 0); n != 0 {
			t.Fatalf("purging again purged %d, want 0", n)
		}
	})
}

func TestElasticsearchPurgeMissingIndex(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		p := newPurgeSink(t, b, nil)
		if err := p.DeleteIndex(context.Background(), p.index); err != nil {
			t.Fatalf("DeleteIndex: %v", err)
		}
		if n := p.purge(t, t0, 0); n != 0 {
			t.Fatalf("purged %d from a missing index, want 0", n)
		}
	})
}

func TestElasticsearchPurgeNegativeRetention(t *testing.T) {
	b := fakeBackend(t)
	p := newPurgeSink(t, b, nil)
	bulks := b.fake.BulkRequests()
	if n, err := p.PurgeTombstones(context.Background(), -time.Second); err == nil || n != 0 {
		t.Fatalf("PurgeTombstones(-1s) = %d, %v; want an error", n, err)
	}
	if s, bs := b.fake.SearchRequests(), b.fake.BulkRequests()-bulks; s != 0 || bs != 0 {
		t.Fatalf("search requests = %d, bulk requests = %d; want none", s, bs)
	}
}

// Fault injection exists only in esfake, so these tests do not run against
// a real cluster.
func TestElasticsearchPurgeRetries(t *testing.T) {
	const retries = 2
	tests := []struct {
		name         string
		inject       func(f *esfake.Server)
		wantPurged   int64
		wantSearches int
		wantBulks    int
		wantErr      func(error) bool // nil: no error
	}{
		{"bulk 429 twice, then purged", func(f *esfake.Server) {
			f.FailNext(2, 429, "es_rejected_execution_exception")
		}, 2, 1, 3, nil},
		{"bulk 503 once, then purged", func(f *esfake.Server) {
			f.FailNext(1, 503, "unavailable_shards_exception")
		}, 2, 1, 2, nil},
		{"a failed delete is retried alone; the count keeps both attempts' deletes", func(f *esfake.Server) {
			f.FailDocs(1, 429, "es_rejected_execution_exception", "1")
		}, 2, 1, 2, nil},
		{"bulk past the retries", func(f *esfake.Server) {
			f.FailNext(retries+1, 503, "unavailable_shards_exception")
		}, 0, 1, retries + 1, isUnavailable},
		{"a failed delete past the retries", func(f *esfake.Server) {
			f.FailDocs(retries+1, 429, "es_rejected_execution_exception", "1")
		}, 1, 1, retries + 1, isUnavailable},
		{"a delete refused for good is not retried", func(f *esfake.Server) {
			f.FailDocs(1, 403, "cluster_block_exception", "1")
		}, 1, 1, 1, isAPIError(403, "cluster_block_exception")},
		{"a bulk refused for good is not retried", func(f *esfake.Server) {
			f.FailNext(1, 400, "illegal_argument_exception")
		}, 0, 1, 1, isAPIError(400, "illegal_argument_exception")},
		{"search 429 once, then purged", func(f *esfake.Server) {
			f.FailNextSearch(1, 429, "es_rejected_execution_exception")
		}, 2, 2, 1, nil},
		{"search past the retries", func(f *esfake.Server) {
			f.FailNextSearch(retries+1, 503, "unavailable_shards_exception")
		}, 0, retries + 1, 0, isUnavailable},
		{"a search refused for good is not retried", func(f *esfake.Server) {
			f.FailNextSearch(1, 400, "illegal_argument_exception")
		}, 0, 1, 0, isAPIError(400, "illegal_argument_exception")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := fakeBackend(t)
			p := newPurgeSink(t, b, func(c *Config) { c.Retries = retries })
			p.write(t, t0, tombstone("1", 1), tombstone("2", 1))
			p.refresh(t)
			tt.inject(b.fake)
			searches, bulks := b.fake.SearchRequests(), b.fake.BulkRequests()
			p.at = t0.Add(time.Hour)
			n, err := p.PurgeTombstones(context.Background(), 0)
			if got := b.fake.SearchRequests() - searches; got != tt.wantSearches {
				t.Errorf("search requests = %d, want %d", got, tt.wantSearches)
			}
			if got := b.fake.BulkRequests() - bulks; got != tt.wantBulks {
				t.Errorf("bulk requests = %d, want %d", got, tt.wantBulks)
			}
			if n != tt.wantPurged {
				t.Errorf("purged %d, want %d", n, tt.wantPurged)
			}
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("PurgeTombstones: %v", err)
			case tt.wantErr != nil && !tt.wantErr(err):
				t.Fatalf("PurgeTombstones error = %v, not the one wanted", err)
			}
		})
	}
}

func isUnavailable(err error) bool { return errors.Is(err, ErrUnavailable) }

func isAPIError(status int, typ string) func(error) bool {
	return func(err error) bool {
		var ae *APIError
		return errors.As(err, &ae) && ae.Status == status && ae.Type == typ && !errors.Is(err, ErrUnavailable)
	}
}

func TestElasticsearchPurgeOutage(t *testing.T) {
	b := fakeBackend(t)
	p := newPurgeSink(t, b, nil)
	p.write(t, t0, tombstone("1", 1))
	p.refresh(t)
	b.fake.Down(true)
	if _, err := p.PurgeTombstones(context.Background(), 0); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("PurgeTombstones during outage = %v, want ErrUnreachable", err)
	}
	b.fake.Down(false)
	if n := p.purge(t, t0.Add(time.Hour), 0); n != 1 {
		t.Fatalf("purged %d after the outage, want 1", n)
	}
}
