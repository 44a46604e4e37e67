package esfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

type hit struct {
	ix    *index
	id    string
	d     *doc
	score float64
	sort  []any // normalized keys, nil for missing
}

// collect runs a query over the refreshed documents of the targets,
// applying alias filters. Callers hold s.mu.
func (s *Server) collect(expr string, query map[string]any) ([]*hit, *esError, int) {
	targets, missing, ok := s.resolve(expr)
	if !ok {
		e := indexNotFound(missing)
		return nil, &e, http.StatusNotFound
	}
	now := s.now()
	var hits []*hit
	for _, t := range targets {
		t.ix.maybeRefresh(now)
		m, err := compileQuery(t.ix.mappings, query)
		if err != nil {
			return nil, err, http.StatusBadRequest
		}
		var filters []matcher
		if !t.unfiltered {
			for _, f := range t.filters {
				fm, err := compileQuery(t.ix.mappings, f)
				if err != nil {
					return nil, err, http.StatusBadRequest
				}
				filters = append(filters, fm)
			}
		}
		for id, d := range t.ix.searchable {
			if len(filters) > 0 {
				pass := false
				for _, f := range filters {
					if ok, _ := f(id, d.fields); ok {
						pass = true
						break
					}
				}
				if !pass {
					continue
				}
			}
			if ok, score := m(id, d.fields); ok {
				hits = append(hits, &hit{ix: t.ix, id: id, d: d, score: score})
			}
		}
	}
	// Stand-in for index order: by index, then by write order.
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].ix.name != hits[j].ix.name {
			return hits[i].ix.name < hits[j].ix.name
		}
		return hits[i].d.seqNo < hits[j].d.seqNo
	})
	return hits, nil, 0
}

// handleCount implements GET|POST /{target}/_count.
func (s *Server) handleCount(w http.ResponseWriter, expr string, body []byte) {
	var req map[string]any
	if len(bytes.TrimSpace(body)) > 0 {
		m, err := decodeObject(body)
		if err != nil {
			writeError(w, http.StatusBadRequest, parseError(err))
			return
		}
		req = m
	}
	q, _ := req["query"].(map[string]any)
	s.mu.Lock()
	defer s.mu.Unlock()
	hits, e, status := s.collect(expr, q)
	if e != nil {
		writeError(w, status, *e)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"count":   len(hits),
		"_shards": map[string]any{"total": 1, "successful": 1, "skipped": 0, "failed": 0},
	})
}

type sortKey struct {
	f       field
	score   bool
	desc    bool
	missing string // _last (default) or _first
}

// handleSearch implements GET|POST /{target}/_search for the subset of the
// request body named in the package comment.
func (s *Server) handleSearch(w http.ResponseWriter, expr string, body []byte) {
	start := time.Now()
	var req map[string]any
	if len(bytes.TrimSpace(body)) > 0 {
		m, err := decodeObject(body)
		if err != nil {
			writeError(w, http.StatusBadRequest, parseError(err))
			return
		}
		req = m
	}
	q, _ := req["query"].(map[string]any)
	from, size := 0, 10
	if v, ok := req["from"]; ok {
		from = intOf(v)
	}
	if v, ok := req["size"]; ok {
		size = intOf(v)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.searchRequests++
	if f, ok := takeRequestFault(&s.faults.search); ok {
		writeError(w, f.status, esError{Type: f.typ, Reason: faultReason(f.typ, false)})
		return
	}
	hits, e, status := s.collect(expr, q)
	if e != nil {
		writeError(w, status, *e)
		return
	}
	if limit := s.resultWindow(expr); from+size > limit {
		writeShardFailure(w, expr, esError{Type: "illegal_argument_exception", Reason: fmt.Sprintf(
			"Result window is too large, from + size must be less than or equal to: [%d] but was [%d]. "+
				"See the scroll api for a more efficient way to request large data sets. "+
				"This limit can be set by changing the [index.max_result_window] index level setting.", limit, from+size)})
		return
	}
	keys, serr := s.sortKeys(req["sort"], hits, expr)
	if serr != nil {
		writeShardFailure(w, expr, *serr)
		return
	}
	for _, h := range hits {
		h.sort = make([]any, len(keys))
		for i, k := range keys {
			if k.score {
				h.sort[i] = h.score
				continue
			}
			h.sort[i] = pickSortValue(k, h)
		}
	}
	sort.SliceStable(hits, func(i, j int) bool {
		for n, k := range keys {
			a, b := hits[i].sort[n], hits[j].sort[n]
			if a == nil || b == nil {
				if (a == nil) == (b == nil) {
					continue
				}
				// Missing values go last unless missing is _first.
				return (a == nil) == (k.missing == "_first")
			}
			c := compareKeys(a, b)
			if c == 0 {
				continue
			}
			if k.desc {
				return c > 0
			}
			return c < 0
		}
		return false
	})

	aggs, aerr := runAggs(req, hits)
	if aerr != nil {
		writeShardFailure(w, expr, *aerr)
		return
	}

	byScore := len(keys) == 1 && keys[0].score
	explicitSort := req["sort"] != nil
	withVersion, _ := req["version"].(bool)
	maxScore := any(nil)
	if byScore && len(hits) > 0 {
		m := 0.0
		for _, h := range hits {
			m = math.Max(m, h.score)
		}
		maxScore = m
	}
	page := []any{}
	for i := from; i < len(hits) && i < from+size; i++ {
		h := hits[i]
		out := map[string]any{"_index": h.ix.name, "_id": h.id}
		if withVersion {
			// The version as of the refresh the search sees.
			out["_version"] = h.d.version
		}
		if byScore {
			out["_score"] = h.score
		} else {
			out["_score"] = nil
		}
		if src, ok := filterSource(req["_source"], h.d); ok {
			out["_source"] = src
		}
		if ignored, ok := h.d.fields[IgnoredField]; ok {
			out[IgnoredField] = ignored
		}
		if explicitSort {
			vals := make([]any, len(keys))
			for n, k := range keys {
				vals[n] = k.f.keyJSON(h.sort[n])
			}
			out["sort"] = vals
		}
		page = append(page, out)
	}
	hitsObj := map[string]any{"max_score": maxScore, "hits": page}
	total, relation := len(hits), "eq"
	switch t := req["track_total_hits"].(type) {
	case bool:
		if !t {
			total = -1
		}
	case json.Number:
		if n, _ := t.Int64(); int(n) < total {
			total, relation = int(n), "gte"
		}
	default:
		if total > 10000 {
			total, relation = 10000, "gte"
		}
	}
	if total >= 0 {
		hitsObj["total"] = map[string]any{"value": total, "relation": relation}
	}
	resp := map[string]any{
		"took":      time.Since(start).Milliseconds(),
		"timed_out": false,
		"_shards":   map[string]any{"total": 1, "successful": 1, "skipped": 0, "failed": 0},
		"hits":      hitsObj,
	}
	if aggs != nil {
		resp["aggregations"] = aggs
	}
	writeJSON(w, http.StatusOK, resp)
}

// sortKeys parses "sort": "f", {"f":"desc"}, {"f":{"order":…,"missing":…}},
// "_score", or a list of those. Default: _score descending.
func (s *Server) sortKeys(raw any, hits []*hit, expr string) ([]sortKey, *esError) {
	var specs []any
	switch t := raw.(type) {
	case nil:
		return []sortKey{{score: true, desc: true}}, nil
	case []any:
		specs = t
	default:
		specs = []any{t}
	}
	mappings := s.mappingsFor(expr)
	var keys []sortKey
	for _, sp := range specs {
		var name, order, missing string
		switch t := sp.(type) {
		case string:
			name = t
		case map[string]any:
			for k, v := range t {
				name = k
				switch o := v.(type) {
				case string:
					order = o
				case map[string]any:
					order, _ = o["order"].(string)
					missing, _ = o["missing"].(string)
				}
			}
		}
		if name == "_score" {
			keys = append(keys, sortKey{score: true, desc: order != "asc"})
			continue
		}
		if name == "_doc" {
			continue
		}
		f := lookupField(mappings, name)
		switch f.typ {
		case "text":
			return nil, &esError{Type: "illegal_argument_exception", Reason: "Fielddata is disabled on [" + name + "] in [" + expr +
				"]. Text fields are not optimised for operations that require per-document field data like aggregations and sorting, so these operations are disabled by default. Please use a keyword field instead. Alternatively, set fielddata=true on [" +
				name + "] in order to load field data by uninverting the inverted index. Note that this can use significant memory."}
		case "":
			return nil, &esError{Type: "query_shard_exception", Reason: "No mapping found for [" + name + "] in order to sort on", Index: expr}
		}
		keys = append(keys, sortKey{f: f, desc: order == "desc", missing: missing})
	}
	return keys, nil
}

// mappingsFor returns the mappings of the first index an expression
// reaches; the fake assumes the indices behind one search share mappings.
func (s *Server) mappingsFor(expr string) map[string]any {
	targets, _, _ := s.resolve(expr)
	if len(targets) == 0 {
		return map[string]any{}
	}
	return targets[0].ix.mappings
}

// pickSortValue takes the minimum of a multi-valued field ascending and the
// maximum descending, Elasticsearch's default sort mode.
func pickSortValue(k sortKey, h *hit) any {
	var best any
	for _, v := range k.f.values(h.id, h.d.fields) {
		key, ok := k.f.key(v)
		if !ok {
			continue
		}
		if best == nil || (k.desc && compareKeys(key, best) > 0) || (!k.desc && compareKeys(key, best) < 0) {
			best = key
		}
	}
	return best
}

// writeShardFailure wraps a per-shard error the way a search reports it:
// search_phase_execution_exception "all shards failed" with the cause.
func writeShardFailure(w http.ResponseWriter, expr string, cause esError) {
	root := cause.object()
	writeJSON(w, http.StatusBadRequest, map[string]any{
		"error": map[string]any{
			"root_cause": []any{root},
			"type":       "search_phase_execution_exception",
			"reason":     "all shards failed",
			"phase":      "query",
			"grouped":    true,
			"failed_shards": []any{map[string]any{
				"shard": 0, "index": expr, "node": "esfake", "reason": root,
			}},
			"caused_by": root,
		},
		"status": http.StatusBadRequest,
	})
}

// filterSource applies "_source": false, a list of paths, or
// {"includes":[…],"excludes":[…]}.
func filterSource(spec any, d *doc) (any, bool) {
	var includes, excludes []string
	switch t := spec.(type) {
	case nil:
		return d.source, true
	case bool:
		if !t {
			return nil, false
		}
		return d.source, true
	case string, []any:
		includes = stringList(t)
	case map[string]any:
		includes = stringList(t["includes"])
		excludes = stringList(t["excludes"])
	}
	// The source as sent: d.fields has dotted names expanded and
	// IgnoredField added.
	var src map[string]any
	dec := json.NewDecoder(bytes.NewReader(d.source))
	dec.UseNumber()
	if err := dec.Decode(&src); err != nil {
		return d.source, true
	}
	return pruneSource(src, "", includes, excludes), true
}

func pruneSource(obj map[string]any, prefix string, includes, excludes []string) map[string]any {
	out := map[string]any{}
	for k, v := range obj {
		full := k
		if prefix != "" {
			full = prefix + "." + k
		}
		if matchesAny(excludes, full) {
			continue
		}
		if len(includes) == 0 || matchesAny(includes, full) {
			out[k] = v
			continue
		}
		if sub, ok := v.(map[string]any); ok && hasIncludeUnder(includes, full) {
			if p := pruneSource(sub, full, includes, excludes); len(p) > 0 {
				out[k] = p
			}
		}
	}
	return out
}

func matchesAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if globMatch(p, name) || strings.HasPrefix(name, p+".") {
			return true
		}
	}
	return false
}

func hasIncludeUnder(patterns []string, prefix string) bool {
	for _, p := range patterns {
		if strings.HasPrefix(p, prefix+".") {
			return true
		}
	}
	return false
}

// defaultResultWindow is index.max_result_window when an index does not
// set it.
const defaultResultWindow = 10_000

// resultWindow is the smallest index.max_result_window of the indices expr
// names: a search page (from + size) may not go past it. Callers hold s.mu.
func (s *Server) resultWindow(expr string) int {
	targets, _, _ := s.resolve(expr)
	limit := math.MaxInt
	for _, t := range targets {
		n := defaultResultWindow
		if v, ok := t.ix.settings["index.max_result_window"]; ok {
			if m, err := strconv.Atoi(v); err == nil {
				n = m
			}
		}
		limit = min(limit, n)
	}
	return limit
}
