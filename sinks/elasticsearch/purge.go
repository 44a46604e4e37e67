package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// defaultPurgePage is how many tombstones one round of PurgeTombstones
// finds and deletes with one _bulk request.
const defaultPurgePage = 1000

// PurgeTombstones deletes the tombstones (see Write) whose DeletedAtField is
// older than olderThan and returns how many it deleted. It works on each
// view's generation index — not on the alias, whose filter hides
// tombstones — in rounds: a search for up to 1000 such tombstones with
// their versions, one _bulk of deletes, a refresh so the deleted ones no
// longer match; again while a round found a full page and deleted some.
// Indices of other generations are left to the rebuild that drops them.
//
// Each tombstone is deleted at its own version — the delete's Rev — with
// version_type=external_gte:
//
//   - A document written again since the search, at a higher Rev (recreated,
//     or deleted again), makes the delete a version conflict: it is kept,
//     skipped without error, and not counted. The newer write is never lost.
//   - The delete records the tombstone's Rev itself as the id's deleted
//     version, which Elasticsearch remembers for index.gc_deletes (60s by
//     default). The engine gives the next write of the doc Rev+1, which is
//     therefore accepted at once. A delete by query, which deletes with
//     internal versioning, would record Rev+1 and refuse exactly that write
//     as stale for gc_deletes: a lost write.
//   - Once the tombstone is gone and gc_deletes has passed, the id is
//     unguarded: a write of an older Rev — a retried batch, a replay after a
//     rebalance or a restore — creates the document again, and the delete is
//     lost. So the retention must outlast any replay, the same rule as for
//     the state tables' tombstones; use the same retention.
//
// The deletes use external versioning, with which Elasticsearch creates a
// missing index (from the view's template) rather than failing: an index
// dropped between a round's search and its deletes comes back, empty. As
// for Write, drop a generation only once no sink writes or purges it.
//
// A negative olderThan is an error. A missing index has nothing to purge.
// A 429 or 5xx answer to the search, the bulk or the refresh, and deletes
// the bulk response fails with such a status, are retried with capped
// exponential backoff up to Config.Retries times, then reported wrapping
// ErrUnavailable; other failures are an *APIError, and a transport failure
// wraps ErrUnreachable. A view that fails does not stop the sweep: an
// index closed or red (400 index_closed_exception, 503) stays so until an
// operator acts, and the other views' tombstones must not pile up
// meanwhile. The count of every view is returned with the failures
// joined; only a done ctx ends the sweep early. Retrying, or sweeping
// again later, is harmless: deleted tombstones no longer match.
func (s *Sink) PurgeTombstones(ctx context.Context, olderThan time.Duration) (int64, error) {
	if olderThan < 0 {
		return 0, fmt.Errorf("elasticsearch: purge tombstones: negative retention %s", olderThan)
	}
	page := s.purgePage
	if page <= 0 {
		page = defaultPurgePage
	}
	query := tombstonesBefore(s.clock().Add(-olderThan), page)
	var total int64
	var errs []error
	for _, v := range s.order {
		if err := ctx.Err(); err != nil {
			errs = append(errs, fmt.Errorf("elasticsearch: purge tombstones: %w", err))
			break
		}
		n, err := s.purgeIndex(ctx, v.index, query, page)
		total += n
		if err != nil {
			errs = append(errs, fmt.Errorf("elasticsearch: view %s: purge tombstones of %s: %w", v.Name, v.index, err))
		}
	}
	return total, errors.Join(errs...)
}

// clock is the sink's time: time.Now unless a test set another.
func (s *Sink) clock() time.Time {
	if s.now == nil {
		return time.Now()
	}
	return s.now()
}

// tombstonesBefore is the search body finding up to page tombstones stamped
// before cutoff, with their versions and without their sources. The cutoff
// is absolute, computed here, rather than date math: Elasticsearch keeps
// dates to the millisecond, so it is truncated to one; a tombstone within
// that millisecond is kept.
func tombstonesBefore(cutoff time.Time, page int) map[string]any {
	lt := cutoff.UTC().Truncate(time.Millisecond).Format(time.RFC3339Nano)
	return map[string]any{
		"size": page, "version": true, "_source": false, "track_total_hits": false,
		"query": map[string]any{"bool": map[string]any{"filter": []any{
			map[string]any{"term": map[string]any{DeletedField: true}},
			map[string]any{"range": map[string]any{DeletedAtField: map[string]any{"lt": lt}}},
		}}},
	}
}

// tombstoneHit is a tombstone the search found, at the version it saw.
type tombstoneHit struct {
	ID      string `json:"_id"`
	Version int64  `json:"_version"`
}

// purgeIndex purges one index round by round. It stops when a round found
// less than a full page, or deleted nothing (every hit was written again
// since: looping would find the same hits until the next refresh).
func (s *Sink) purgeIndex(ctx context.Context, index string, query any, page int) (int64, error) {
	var total int64
	for {
		var hits []tombstoneHit
		err := s.retrying(ctx, func() (bool, error) {
			var err error
			hits, err = s.searchTombstones(ctx, index, query)
			return retryable(err), err
		})
		if notFound(err) || err == nil && len(hits) == 0 {
			return total, nil
		}
		if err != nil {
			return total, err
		}
		n, err := s.deleteTombstones(ctx, index, hits)
		total += n
		if err != nil {
			return total, err
		}
		if n == 0 {
			return total, nil
		}
		// The deleted tombstones leave the search, so the next round, or
		// a sweep soon after, does not find them again.
		err = s.retrying(ctx, func() (bool, error) {
			_, err := s.call(ctx, http.MethodPost, "/"+url.PathEscape(index)+"/_refresh", nil, nil)
			return retryable(err), err
		})
		if notFound(err) {
			return total, nil
		}
		if err != nil {
			return total, fmt.Errorf("refresh: %w", err)
		}
		if len(hits) < page {
			return total, nil
		}
	}
}

// retrying runs op until it succeeds, fails for good (op says not to
// retry), or has been retried s.retries times, waiting the backoff between
// attempts as Write does.
func (s *Sink) retrying(ctx context.Context, op func() (retry bool, err error)) error {
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, s.backoff(attempt-1)); err != nil {
				return fmt.Errorf("interrupted before retry %d: %w", attempt, err)
			}
		}
		retry, err := op()
		switch {
		case err == nil || !retry:
			return err
		case attempt >= s.retries:
			return fmt.Errorf("%w after %d attempts: %w", ErrUnavailable, attempt+1, err)
		}
	}
}

// retryable tells an *APIError with a 429 or 5xx status.
func retryable(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && retryableStatus(ae.Status)
}

func notFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Type == "index_not_found_exception"
}

// searchTombstones runs one search for tombstones.
func (s *Sink) searchTombstones(ctx context.Context, index string, query any) ([]tombstoneHit, error) {
	var out struct {
		Hits struct {
			Hits []tombstoneHit `json:"hits"`
		} `json:"hits"`
	}
	if _, err := s.call(ctx, http.MethodPost, "/"+url.PathEscape(index)+"/_search", query, &out); err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	return out.Hits.Hits, nil
}

// deleteTombstones deletes the hits with one _bulk of deletes, each at the
// hit's version with version_type=external_gte, and returns how many it
// deleted. Deletes that fail with 429 or 5xx, or whose whole request did,
// are sent again (only those) with backoff; a version conflict is a doc
// written again since the search, skipped; any other failure is an error,
// returned after counting what the same response deleted.
func (s *Sink) deleteTombstones(ctx context.Context, index string, hits []tombstoneHit) (int64, error) {
	var deleted int64
	pending := hits
	err := s.retrying(ctx, func() (bool, error) {
		items, ae, err := s.postBulk(ctx, deleteBody(index, pending), nil, true)
		switch {
		case err != nil:
			return false, err
		case ae != nil:
			return retryableStatus(ae.Status), fmt.Errorf("bulk delete: %w", ae)
		case len(items) != len(pending):
			return false, fmt.Errorf("bulk delete: %d results for %d actions", len(items), len(pending))
		}
		var again []tombstoneHit
		var lastRetryable, failed error
		for i, h := range pending {
			r := items[i].Delete
			switch {
			case r == nil:
				failed = fmt.Errorf("bulk delete of %s: result without a delete entry", h.ID)
			case r.Status < 300 && r.Result == "deleted":
				deleted++
			case r.Status == http.StatusNotFound && r.Error == nil:
				// not_found: deleted since the search (another sweep).
			case r.Status == http.StatusConflict && r.Error != nil && r.Error.Type == "version_conflict_engine_exception":
				// Written again at a higher Rev since the search: kept.
			case r.Error == nil:
				failed = fmt.Errorf("bulk delete of %s: %w", h.ID, &APIError{Status: r.Status, Type: http.StatusText(r.Status)})
			case retryableStatus(r.Status):
				again = append(again, h)
				lastRetryable = fmt.Errorf("bulk delete of %s: %w", h.ID, r.Error.apiError(r.Status))
			default:
				failed = fmt.Errorf("bulk delete of %s: %w", h.ID, r.Error.apiError(r.Status))
			}
		}
		if failed != nil {
			return false, failed
		}
		pending = again
		return lastRetryable != nil, lastRetryable
	})
	return deleted, err
}

// deleteBody is the NDJSON of one delete action per hit.
func deleteBody(index string, hits []tombstoneHit) []byte {
	var b bytes.Buffer
	head := `{"delete":{"_index":` + jsonString(index) + `,"_id":`
	for _, h := range hits {
		id, _ := json.Marshal(h.ID) // a string always encodes
		b.WriteString(head)
		b.Write(id)
		b.WriteString(`,"version":` + strconv.FormatInt(h.Version, 10) + `,"version_type":"external_gte"}}` + "\n")
	}
	return b.Bytes()
}
