package query

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/projectorhq/projector/sinks/elasticsearch"
)

const (
	defaultFacetSize = 10
	maxFacetSize     = 100
	maxFacets        = 10
	maxQueryBytes    = 1024
	// maxResultWindow is Elasticsearch's default index.max_result_window:
	// offset+limit beyond it is refused by the cluster.
	maxResultWindow = 10000
)

// SearchResult is a page of full-text search results with facet counts.
type SearchResult struct {
	Docs   []json.RawMessage  `json:"docs"`
	Total  int64              `json:"total"`
	Facets map[string][]Facet `json:"facets"`
}

// Facet is one value of a field and how many matching docs have it.
type Facet struct {
	Value any   `json:"value"`
	Count int64 `json:"count"`
}

// Search runs a full-text query with filters and facets against the view's
// Elasticsearch alias. params are those of GET /v1/views/{view}/search:
// q (matched against the text fields), filters as for lists (top-level
// fields only: embedded objects are stored unindexed), facets (a comma-
// separated list of fields), facet_size, sort, limit and offset. Every part
// is a structured query (multi_match, term, terms, range): nothing from the
// request is parsed as Elasticsearch query syntax.
func (s *Server) Search(ctx context.Context, viewName string, params url.Values) (*SearchResult, error) {
	req, err := s.prepareSearch(viewName, params)
	if err != nil {
		return nil, err
	}
	return s.search(ctx, req)
}

// searchRequest is a search checked against its view and rendered as
// Elasticsearch's query, ready to run: what the request says is wrong is
// found before any read-your-writes wait.
type searchRequest struct {
	v     *view
	body  map[string]any
	limit int
	// bound is the most its answer can take (searchAnswerBound).
	bound int64
}

func (s *Server) prepareSearch(viewName string, params url.Values) (*searchRequest, error) {
	v, err := s.view(viewName)
	if err != nil {
		return nil, err
	}
	if v.ES == nil || s.es == nil {
		if v.Plan.Sinks.Elasticsearch != nil {
			// Declared, but dropped as the daemon drops it (see catalog).
			return nil, notFound("view %s's Elasticsearch sink is disabled: no Elasticsearch URL is configured "+
				"(stores.elasticsearch.url is empty), so it cannot be searched", v.Name)
		}
		return nil, notFound("view %s has no Elasticsearch sink: it cannot be searched", v.Name)
	}
	if err := allowParams(params, "q", "facets", "facet_size", "sort", "limit", "offset", "min_position", "wait"); err != nil {
		return nil, err
	}
	return searchBody(v, params)
}

// search runs a prepared search (see Search). Its answer is read up to
// what it can take (searchRequest.bound); an answer beyond that, or one
// that does not decode, is a 502: Elasticsearch answered, but not
// something a retry would change.
func (s *Server) search(ctx context.Context, req *searchRequest) (*SearchResult, error) {
	v := req.v
	var r searchResponse
	err := s.es.search(ctx, v.ES.Alias, req.body, req.bound, &r)
	if e := esUndeployed(v, err); e != nil {
		return nil, e
	}
	var ae *esAnswerError
	switch {
	case errors.As(err, &ae) && ae.TooLong:
		return nil, &Error{Status: http.StatusBadGateway, Code: "store_answer_too_long", kind: ErrStoreAnswer,
			Message: fmt.Sprintf("view %s: Elasticsearch answered this search with more than %d bytes, more than a page of %d docs of at most %d bytes each can take",
				v.Name, ae.Bound, req.limit, maxESDocBytes)}
	case errors.As(err, &ae):
		return nil, &Error{Status: http.StatusBadGateway, Code: "bad_store_answer", kind: ErrStoreAnswer,
			Message: fmt.Sprintf("view %s: Elasticsearch's answer to this search does not decode: %v", v.Name, ae.err)}
	case err != nil:
		return nil, fmt.Errorf("search %s: %w", v.Name, err)
	}
	return searchResult(v, &r)
}

// esUndeployed is the answer to a search of an alias on no index: no
// projector run has deployed the view to Elasticsearch yet, or its index
// was deleted (the alias goes with it); nil for any other error.
func esUndeployed(v *view, err error) error {
	var se *esStatusError
	if !errors.As(err, &se) || se.Status != http.StatusNotFound || se.Type != "index_not_found_exception" {
		return nil
	}
	return &Error{Status: http.StatusServiceUnavailable, Code: "not_deployed",
		Message: fmt.Sprintf("view %s has no Elasticsearch index behind alias %s: no projector run has deployed it yet, or its index was deleted (projector rebuild %s --sinks es)", v.Name, v.ES.Alias, v.Name)}
}

// searchBody renders a search request as Elasticsearch's query.
func searchBody(v *view, params url.Values) (*searchRequest, error) {
	for _, name := range []string{"q", "facets"} {
		if len(params[name]) > 1 {
			return nil, badRequest("bad_value", name, "%s is given %d times: give it once%s", name, len(params[name]),
				map[string]string{"q": "", "facets": ", the fields comma-separated"}[name])
		}
	}
	filters, err := parseFilters(v, params)
	if err != nil {
		return nil, err
	}
	must, err := esMatch(v, params.Get("q"))
	if err != nil {
		return nil, err
	}
	filter, err := esFilters(filters)
	if err != nil {
		return nil, err
	}
	query := map[string]any{"match_all": map[string]any{}}
	if len(must) > 0 || len(filter) > 0 {
		b := map[string]any{}
		if len(must) > 0 {
			b["must"] = must
		}
		if len(filter) > 0 {
			b["filter"] = filter
		}
		query = map[string]any{"bool": b}
	}
	limit, err := parseInt(params, "limit", defaultLimit, 1, maxLimit)
	if err != nil {
		return nil, err
	}
	offset, err := parseOffset(params, limit)
	if err != nil {
		return nil, err
	}
	body := map[string]any{"query": query, "size": limit, "from": offset, "track_total_hits": true}
	sort, err := esSort(v, params)
	if err != nil {
		return nil, err
	}
	if sort != nil {
		body["sort"] = sort
	}
	aggs, buckets, err := esFacets(v, params)
	if err != nil {
		return nil, err
	}
	if aggs != nil {
		body["aggs"] = aggs
	}
	return &searchRequest{v: v, body: body, limit: limit, bound: searchAnswerBound(limit, len(sort), buckets)}, nil
}

// parseOffset reads offset, which with limit must stay within
// Elasticsearch's result window: the cluster refuses from+size beyond it.
func parseOffset(params url.Values, limit int) (int, error) {
	offset, err := parseInt(params, "offset", 0, 0, maxResultWindow-1)
	if err == nil && offset+limit > maxResultWindow {
		err = badRequest("bad_offset", "offset", "offset + limit must be at most %d (Elasticsearch's result window); offset %d allows a limit of at most %d",
			maxResultWindow, offset, maxResultWindow-offset)
	}
	return offset, err
}

// esMatch is the full-text part: q matched against the view's text fields.
func esMatch(v *view, q string) ([]any, error) {
	if q == "" {
		return nil, nil
	}
	if len(q) > maxQueryBytes {
		return nil, badRequest("bad_value", "q", "q is longer than %d bytes", maxQueryBytes)
	}
	var fields []string
	for _, f := range v.Fields {
		if esType(f.ES) == "text" && f.ES["index"] != false {
			fields = append(fields, f.Name)
		}
	}
	if len(fields) == 0 {
		return nil, badRequest("bad_parameter", "q", "view %s has no text fields to search", v.Name)
	}
	return []any{map[string]any{"multi_match": map[string]any{"query": q, "fields": fields}}}, nil
}

// esFilters renders the filters as term, terms and range queries on where
// each field's values compare in order (esOrdered). A numeric(p,s) is
// indexed at its scale (scaled_float rounds a term to it: 12.504 would
// find 12.50), and holds only values of that scale: a value with more
// decimals equals none, so eq matches nothing and in leaves it out, as a
// list from PostgreSQL does. A range bound is rounded the same way, up for
// a lower bound and down for an upper one, in doubles (see scaledBound).
// A keyword indexes no value longer than its ignore_above (text's keyword
// sub-field: 256 characters), so eq or in with such a value could never
// match: a 400 rather than an empty result. A range is unaffected, but
// it, like a sort, does not see docs whose value is that long.
func esFilters(filters []filter) ([]any, error) {
	var out []any
	for _, f := range filters {
		if len(f.Path) > 1 {
			return nil, badRequest("bad_field", f.Param, "field %q is inside an embedded object, which Elasticsearch stores unindexed; filter it through /docs", strings.Join(f.Path, "."))
		}
		t, ok := esOrdered(f.Field)
		if !ok {
			return nil, badRequest("bad_field", f.Param, "field %q is not indexed for filtering in Elasticsearch (see the view's mappings)", f.Field.Name)
		}
		if t.Digits && f.Op != "eq" && f.Op != "in" {
			return nil, badRequest("bad_operator", f.Param, "field %q is indexed as keyword text, which does not order numbers: only eq and in apply", f.Field.Name)
		}
		vals := make([]any, 0, len(f.Values))
		for i := range f.Values {
			if (f.Op == "eq" || f.Op == "in") && t.MaxChars > 0 && javaLen(f.Values[i]) > t.MaxChars {
				return nil, badRequest("bad_value", f.Param, "field %q is indexed for exact comparison up to %d characters (the ignore_above of %s): "+
					"a longer value cannot be compared in Elasticsearch; filter it through /docs", f.Field.Name, t.MaxChars, t.Name)
			}
			if (f.Op == "eq" || f.Op == "in") && beyondScale(f.Field, f.Values[i]) {
				continue // equals no value the field holds
			}
			vals = append(vals, esValue(t, f.Values[i], f.Raw[i]))
		}
		switch {
		case len(vals) == 0:
			out = append(out, map[string]any{"match_none": map[string]any{}})
		case f.Op == "eq":
			out = append(out, map[string]any{"term": map[string]any{t.Name: vals[0]}})
		case f.Op == "in":
			out = append(out, map[string]any{"terms": map[string]any{t.Name: vals}})
		default:
			op, val := scaledBound(t, f.Field, f.Op, f.Values[0])
			if val == nil {
				op, val = f.Op, vals[0]
			}
			out = append(out, map[string]any{"range": map[string]any{t.Name: map[string]any{op: val}}})
		}
	}
	return out, nil
}

// scaledBound is the range bound to send for the value canonical of a
// field stored as scaled_float, or a nil val when the value can go as it
// is. Elasticsearch scales a bound in doubles and rounds it (ceil for a
// lower bound, floor for an upper one), so a bound on the field's grid
// can land just below itself: lte 0.29 is floor(28.999…) = 28, which
// misses 0.29. A bound on the grid is moved half a step away instead,
// where rounding has room (lte 0.295, floor 29.5 = 29), and an exclusive
// one half a step inward, inclusive (lt 0.29 is lte 0.285). A value off
// the grid (12.504) is rounded the right way already.
func scaledBound(t esTarget, f *field, op, canonical string) (string, any) {
	if t.Type != "scaled_float" || t.Name != f.Name {
		return op, nil
	}
	factor, ok := scalingFactor(f.ES["scaling_factor"])
	if !ok {
		return op, nil
	}
	d, err := decimal.NewFromString(canonical)
	if err != nil || !d.Mul(factor).IsInteger() {
		return op, nil
	}
	half := decimal.NewFromFloat(0.5).Div(factor)
	switch op {
	case "gte":
		return "gte", json.Number(d.Sub(half).String())
	case "gt":
		return "gte", json.Number(d.Add(half).String())
	case "lte":
		return "lte", json.Number(d.Add(half).String())
	case "lt":
		return "lte", json.Number(d.Sub(half).String())
	}
	return op, nil
}

// scalingFactor reads a scaled_float mapping's scaling_factor.
func scalingFactor(v any) (decimal.Decimal, bool) {
	var d decimal.Decimal
	switch x := v.(type) {
	case float64:
		d = decimal.NewFromFloat(x)
	case int:
		d = decimal.NewFromInt(int64(x))
	case int64:
		d = decimal.NewFromInt(x)
	case json.Number:
		var err error
		if d, err = decimal.NewFromString(string(x)); err != nil {
			return d, false
		}
	default:
		return d, false
	}
	return d, d.IsPositive()
}

// esSort is the sort of a search: by relevance unless sort is given; else
// in a list's order (see keyset): the sort field. Either way the id fields
// follow, ascending after relevance and in the sort's direction after a
// field: they break ties (docs alike in score, every doc of a search
// without q) so that offset pages neither repeat nor skip a doc that is
// merely re-indexed, which moves it in Elasticsearch's index order. A doc
// without the sort field (NULL, or a text longer than its keyword's
// ignore_above) comes last ascending and first descending, as NULLs do in
// a list. An id field an override keeps as keyword digits still breaks
// ties, in the digits' order; one it leaves unindexed cannot.
func esSort(v *view, params url.Values) ([]any, error) {
	sort, err := parseSort(v, params)
	if err != nil {
		return nil, err
	}
	var out []any
	byScore := sort.Field == nil && params.Get("sort") == ""
	if byScore {
		out = append(out, map[string]any{"_score": map[string]any{"order": "desc"}})
	}
	order, missing := "asc", "_last"
	if sort.Desc {
		order, missing = "desc", "_first"
	}
	for i, f := range newKeyset(v, sort).fields {
		t, ok := esOrdered(f)
		if i == 0 && !byScore && (!ok || t.Digits) {
			return nil, badRequest("bad_sort", "sort", "field %q is not indexed for sorting in Elasticsearch (see the view's mappings)", f.Name)
		}
		if ok {
			out = append(out, map[string]any{t.Name: map[string]any{"order": order, "missing": missing}})
		}
	}
	return out, nil
}

// esFacets is a terms aggregation per requested facet, on where each
// field's exact values are (esTerms): a numeric kept as keyword counts its
// digits as stored. buckets is the most the answer can hold, for its
// bound.
func esFacets(v *view, params url.Values) (aggs map[string]any, buckets int, err error) {
	// Checked with or without facets: a bad facet_size is a bad request
	// either way, not silently nothing.
	size, err := parseInt(params, "facet_size", defaultFacetSize, 1, maxFacetSize)
	if err != nil {
		return nil, 0, err
	}
	facets := params.Get("facets")
	if facets == "" {
		return nil, 0, nil
	}
	names := strings.Split(facets, ",")
	if len(names) > maxFacets {
		return nil, 0, badRequest("bad_value", "facets", "at most %d facets", maxFacets)
	}
	aggs = map[string]any{}
	for _, name := range names {
		f := v.field(name)
		if f == nil {
			return nil, 0, badRequest("unknown_field", "facets", "view %s has no field %q", v.Name, echo(name))
		}
		if !f.scalar() {
			return nil, 0, badRequest("bad_field", "facets", "field %q (%s) cannot be a facet: only scalar fields can", echo(name), typeName(f))
		}
		t, ok := esTerms(f)
		if !ok {
			return nil, 0, badRequest("bad_field", "facets", "field %q is not indexed for facets in Elasticsearch (see the view's mappings)", f.Name)
		}
		aggs[name] = map[string]any{"terms": map[string]any{"field": t.Name, "size": size}}
	}
	return aggs, len(aggs) * size, nil
}

// searchResponse is the part of Elasticsearch's _search answer we use.
type searchResponse struct {
	Hits struct {
		Total struct {
			Value int64 `json:"value"`
		} `json:"total"`
		Hits []struct {
			Source map[string]any `json:"_source"`
		} `json:"hits"`
	} `json:"hits"`
	Aggregations map[string]struct {
		Buckets []struct {
			Key         any    `json:"key"`
			KeyAsString string `json:"key_as_string"`
			DocCount    int64  `json:"doc_count"`
		} `json:"buckets"`
	} `json:"aggregations"`
}

func searchResult(v *view, r *searchResponse) (*SearchResult, error) {
	out := &SearchResult{Docs: make([]json.RawMessage, 0, len(r.Hits.Hits)), Total: r.Hits.Total.Value, Facets: map[string][]Facet{}}
	for _, h := range r.Hits.Hits {
		delete(h.Source, elasticsearch.DeletedField)
		delete(h.Source, elasticsearch.DeletedAtField)
		normalize(v.Fields, h.Source)
		doc, err := marshal(h.Source)
		if err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		out.Docs = append(out.Docs, doc)
	}
	for name, agg := range r.Aggregations {
		f := v.field(name)
		buckets := make([]Facet, 0, len(agg.Buckets))
		for _, b := range agg.Buckets {
			buckets = append(buckets, Facet{Value: facetValue(f, b.Key, b.KeyAsString), Count: b.DocCount})
		}
		out.Facets[name] = buckets
	}
	return out, nil
}

// facetValue is a bucket's value as the doc holds it, which can be given
// back as a filter: a date field's key is its midnight in epoch
// milliseconds, and Elasticsearch's key_as_string a date-time
// ("2022-01-08T00:00:00.000Z"), where the doc holds "2022-01-08"; a
// boolean's key is 1 or 0 and its key_as_string "true" or "false", where
// the doc holds true or false; other dates read as key_as_string, anything
// else as the key.
func facetValue(f *field, key any, keyAsString string) any {
	if f != nil && f.Type.Name == "boolean" {
		s, _ := key.(string) // an override mapping it as keyword
		if keyAsString != "" {
			s = keyAsString
		}
		if s == "true" || s == "false" {
			return s == "true"
		}
	}
	if f != nil {
		// Dates and timestamps as the engine writes them, which the
		// documents hold: 2022-01-08, 2022-01-08T10:00:00Z.
		if n, ok := key.(json.Number); ok {
			if ms, err := n.Int64(); err == nil {
				switch f.Type.Name {
				case "date":
					return time.UnixMilli(ms).UTC().Format(time.DateOnly)
				case "timestamp", "timestamptz":
					return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)
				}
			}
		}
	}
	if keyAsString != "" {
		return keyAsString
	}
	return key
}
