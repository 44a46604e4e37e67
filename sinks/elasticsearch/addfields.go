package elasticsearch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// mapAddedFields gives the existing index of v the generated mappings of
// the top-level fields it does not map yet: fields added to the view
// since the index was created, which need no rebuild. The index template
// shapes only indices created after it; without this, Elasticsearch would
// map such a field from the first document holding it (a jsonb {"a": 1}
// as an object whose "a" is a long, refusing a later {"a": "x"}; a
// numeric as a float; an "_id" text as text), not as the generated
// mapping a rebuilt generation has and the query API assumes.
//
// A field the index maps already is left as it is, however it is mapped:
// by an earlier release, or dynamically from documents written before
// this was done. Elasticsearch does not change a field's mapping in
// place; a new generation (projector rebuild VIEW --sinks es) maps it
// anew.
func (s *Sink) mapAddedFields(ctx context.Context, v *view) error {
	props, err := indexProperties(&v.View)
	if err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		absent, err := s.unmapped(ctx, v.index, props)
		if err != nil || len(absent) == 0 {
			return err
		}
		names := slices.Sorted(maps.Keys(absent))
		if err := s.makeRoom(ctx, v.index, fieldLimit(props)); err != nil {
			return fmt.Errorf("elasticsearch: view %s: make room in %s for the added fields %s: %w", v.Name, v.index, strings.Join(names, ", "), err)
		}
		put := map[string]any{"properties": absent}
		_, err = s.call(ctx, http.MethodPut, "/"+url.PathEscape(v.index)+"/_mapping", put, nil)
		var ae *APIError
		if err != nil && attempt == 1 && errors.As(err, &ae) && ae.Type == "illegal_argument_exception" {
			// A document mapped one of them since the look (written by a
			// daemon of an earlier release): look again.
			continue
		}
		if err != nil {
			return fmt.Errorf("elasticsearch: view %s: map the added fields %s in %s: %w", v.Name, strings.Join(names, ", "), v.index, err)
		}
		return nil
	}
}

// unmapped returns the top-level properties of props that index does not
// map.
func (s *Sink) unmapped(ctx context.Context, index string, props map[string]any) (map[string]any, error) {
	var got map[string]struct {
		Mappings struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"mappings"`
	}
	if _, err := s.call(ctx, http.MethodGet, "/"+url.PathEscape(index)+"/_mapping", nil, &got); err != nil {
		return nil, fmt.Errorf("elasticsearch: get the mapping of %s: %w", index, err)
	}
	ix, ok := got[index]
	if !ok {
		return nil, fmt.Errorf("elasticsearch: get the mapping of %s: the answer has none", index)
	}
	absent := map[string]any{}
	for name, m := range props {
		if _, mapped := ix.Mappings.Properties[name]; !mapped {
			absent[name] = m
		}
	}
	return absent, nil
}

// defaultFieldLimit is Elasticsearch's index.mapping.total_fields.limit
// where an index does not set it.
const defaultFieldLimit = 1000

// makeRoom raises index's total_fields.limit to limit when it is lower,
// as a generation created from the view's template has it: the fields
// added take the room otherwise kept for dynamically mapped ones, and
// their mapping is refused once that is used up. A higher limit is kept.
func (s *Sink) makeRoom(ctx context.Context, index string, limit int) error {
	var got map[string]struct {
		Settings struct {
			Index struct {
				Mapping struct {
					TotalFields struct {
						Limit json.RawMessage `json:"limit"`
					} `json:"total_fields"`
				} `json:"mapping"`
			} `json:"index"`
		} `json:"settings"`
	}
	if _, err := s.call(ctx, http.MethodGet, "/"+url.PathEscape(index)+"/_settings", nil, &got); err != nil {
		return fmt.Errorf("get the settings: %w", err)
	}
	current := defaultFieldLimit
	if raw := got[index].Settings.Index.Mapping.TotalFields.Limit; len(raw) > 0 {
		// Elasticsearch answers settings as strings.
		n, err := strconv.Atoi(strings.Trim(string(raw), `"`))
		if err != nil {
			return fmt.Errorf("%s is %s, not a number", totalFieldsLimit, raw)
		}
		current = n
	}
	if current >= limit {
		return nil
	}
	put := map[string]any{totalFieldsLimit: limit}
	if _, err := s.call(ctx, http.MethodPut, "/"+url.PathEscape(index)+"/_settings", put, nil); err != nil {
		return fmt.Errorf("raise %s from %d to %d: %w", totalFieldsLimit, current, limit, err)
	}
	return nil
}
