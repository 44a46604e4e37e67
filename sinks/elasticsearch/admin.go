package elasticsearch

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
)

// The calls below act on any index or alias by name, not only on the
// sink's views: a rebuild uses them to check, swap and drop generations.
// Each name must be one concrete index or alias (no wildcard, no list), so
// that a bad name can never widen a delete.

// maxResultWindow is Elasticsearch's default index.max_result_window: a
// search may not return more hits in one page.
const maxResultWindow = 10_000

// DeleteIndex deletes an index. An index that does not exist is not an
// error. Elasticsearch refuses to delete an alias by its name.
func (s *Sink) DeleteIndex(ctx context.Context, index string) error {
	if err := checkName(index); err != nil {
		return err
	}
	status, err := s.call(ctx, http.MethodDelete, "/"+url.PathEscape(index), nil, nil)
	if err != nil && status != http.StatusNotFound {
		return fmt.Errorf("elasticsearch: delete index %s: %w", index, err)
	}
	return nil
}

// Refresh makes everything written to an index (or the indices behind an
// alias) visible to searches.
func (s *Sink) Refresh(ctx context.Context, index string) error {
	if err := checkName(index); err != nil {
		return err
	}
	if _, err := s.call(ctx, http.MethodPost, "/"+url.PathEscape(index)+"/_refresh", nil, nil); err != nil {
		return fmt.Errorf("elasticsearch: refresh %s: %w", index, err)
	}
	return nil
}

// AliasIndices lists, sorted, the indices an alias is on: none when the
// alias does not exist.
func (s *Sink) AliasIndices(ctx context.Context, alias string) ([]string, error) {
	if err := checkName(alias); err != nil {
		return nil, err
	}
	var out map[string]any
	status, err := s.call(ctx, http.MethodGet, "/_alias/"+url.PathEscape(alias), nil, &out)
	if status == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("elasticsearch: get alias %s: %w", alias, err)
	}
	names := make([]string, 0, len(out))
	for k := range out {
		names = append(names, k)
	}
	slices.Sort(names)
	return names, nil
}

// LiveIDs returns which of ids the index holds as live documents, that is
// not as tombstones (DeletedField true), as of the index's last refresh
// (see Refresh). A missing index is an error.
func (s *Sink) LiveIDs(ctx context.Context, index string, ids []string) (map[string]bool, error) {
	stored, err := s.Stored(ctx, index, ids)
	if err != nil {
		return nil, err
	}
	live := make(map[string]bool, len(stored))
	for id, d := range stored {
		if d.Live {
			live[id] = true
		}
	}
	return live, nil
}

// Stored is a document as an index holds it: the version (the revision
// the sink wrote it at), its _source as sent, and whether it is live (not
// a tombstone, DeletedField true).
type Stored struct {
	Version int64
	Source  json.RawMessage
	Live    bool
}

// Stored returns the documents of ids that index holds, tombstones
// included, as of the index's last refresh (see Refresh), for a rebuild's
// verification to compare them field by field. A missing index is an
// error.
func (s *Sink) Stored(ctx context.Context, index string, ids []string) (map[string]Stored, error) {
	if err := checkName(index); err != nil {
		return nil, err
	}
	stored := make(map[string]Stored, len(ids))
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), maxResultWindow)]
		ids = ids[len(chunk):]
		q := map[string]any{
			"size": len(chunk), "version": true, "track_total_hits": false,
			"query": map[string]any{"ids": map[string]any{"values": chunk}},
		}
		var out struct {
			Hits struct {
				Hits []struct {
					ID      string          `json:"_id"`
					Version int64           `json:"_version"`
					Source  json.RawMessage `json:"_source"`
				} `json:"hits"`
			} `json:"hits"`
		}
		if _, err := s.call(ctx, http.MethodPost, "/"+url.PathEscape(index)+"/_search", q, &out); err != nil {
			return nil, fmt.Errorf("elasticsearch: read %s by id: %w", index, err)
		}
		for _, h := range out.Hits.Hits {
			var fields map[string]json.RawMessage
			live := json.Unmarshal(h.Source, &fields) != nil || string(fields[DeletedField]) != "true"
			stored[h.ID] = Stored{Version: h.Version, Source: h.Source, Live: live}
		}
	}
	return stored, nil
}

// checkName refuses what is not one concrete index or alias name.
func checkName(name string) error {
	if !validName(name) {
		return fmt.Errorf("%w: %q", ErrInvalidName, name)
	}
	return nil
}
