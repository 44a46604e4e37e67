package esfake

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// defaultScrollSize is the batch size of a delete by query: the hits of one
// scroll page, deleted with one bulk request.
const defaultScrollSize = 1000

// byQueryResponse is the body of a delete by query response, fields in the
// order BulkByScrollResponse writes them (update by query and reindex add
// "updated" and "created", which a delete by query leaves out).
type byQueryResponse struct {
	Took                 int64           `json:"took"`
	TimedOut             bool            `json:"timed_out"`
	Total                int64           `json:"total"`
	Deleted              int64           `json:"deleted"`
	Batches              int64           `json:"batches"`
	VersionConflicts     int64           `json:"version_conflicts"`
	Noops                int64           `json:"noops"`
	Retries              byQueryRetries  `json:"retries"`
	ThrottledMillis      int64           `json:"throttled_millis"`
	RequestsPerSecond    json.Number     `json:"requests_per_second"`
	ThrottledUntilMillis int64           `json:"throttled_until_millis"`
	Failures             []byQueryFailed `json:"failures"`
}

type byQueryRetries struct {
	Bulk   int64 `json:"bulk"`
	Search int64 `json:"search"`
}

// byQueryFailed is one entry of "failures" for a delete that failed
// (BulkItemResponse.Failure: index, id, cause, status).
type byQueryFailed struct {
	Index  string         `json:"index"`
	ID     string         `json:"id"`
	Cause  map[string]any `json:"cause"`
	Status int            `json:"status"`
}

// byQueryParams are the request's options, from the URL or the body.
type byQueryParams struct {
	query      map[string]any
	abort      bool // conflicts=abort (the default): stop at a version conflict
	scrollSize int
	refresh    bool
}

// handleDeleteByQuery implements POST /{target}/_delete_by_query. As in
// Elasticsearch it searches the documents as of the last refresh and
// deletes each hit only if it has not changed since (if_seq_no), in batches
// of scroll_size. A changed or vanished document is a version conflict:
// counted and skipped with conflicts=proceed, listed in "failures" and the
// end of the request with conflicts=abort. Any other failed delete also
// ends the request after its batch. The HTTP status is the highest status
// among the failures, 200 without any.
func (s *Server) handleDeleteByQuery(w http.ResponseWriter, expr string, q url.Values, body []byte) {
	start := time.Now()
	p, perr := parseByQuery(q, body)
	if perr != nil {
		writeError(w, http.StatusBadRequest, *perr)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byQueryRequests++
	if f, ok := takeRequestFault(&s.faults.byQuery); ok {
		writeError(w, f.status, esError{Type: f.typ, Reason: faultReason(f.typ, false)})
		return
	}
	hits, e, status := s.collect(expr, p.query)
	if e != nil {
		writeError(w, status, *e)
		return
	}
	run := &byQueryRun{s: s, p: p, now: s.now(), touched: map[*index]bool{}}
	resp := run.deleteHits(hits)
	if p.refresh {
		for ix := range run.touched {
			ix.refresh(run.now)
		}
	}
	resp.Took = time.Since(start).Milliseconds()
	status = http.StatusOK
	for _, f := range resp.Failures {
		status = max(status, f.Status)
	}
	writeJSON(w, status, resp)
}

// parseByQuery reads the options; "conflicts" may be a URL parameter or a
// body field. The checks and texts are DeleteByQueryRequest.validate's and
// the REST layer's.
func parseByQuery(q url.Values, body []byte) (byQueryParams, *esError) {
	p := byQueryParams{abort: true, scrollSize: defaultScrollSize}
	p.refresh = q.Has("refresh") && q.Get("refresh") != "false"
	var req map[string]any
	if len(bytes.TrimSpace(body)) > 0 {
		m, err := decodeObject(body)
		if err != nil {
			e := parseError(err)
			return p, &e
		}
		req = m
	}
	conflicts := q.Get("conflicts")
	if c, ok := req["conflicts"].(string); ok {
		conflicts = c
	}
	switch conflicts {
	case "", "abort":
	case "proceed":
		p.abort = false
	default:
		return p, &esError{Type: "illegal_argument_exception", Reason: `conflicts may only be "proceed" or "abort" but was [` + conflicts + "]"}
	}
	if v := q.Get("scroll_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return p, &esError{Type: "action_request_validation_exception", Reason: "Validation Failed: 1: scroll size must be greater than 0;"}
		}
		p.scrollSize = n
	}
	query, ok := req["query"].(map[string]any)
	if !ok {
		return p, &esError{Type: "action_request_validation_exception", Reason: "Validation Failed: 1: query is missing;"}
	}
	p.query = query
	return p, nil
}

// byQueryRun is one delete by query under way. Its methods run with s.mu
// held.
type byQueryRun struct {
	s       *Server
	p       byQueryParams
	now     time.Time
	resp    *byQueryResponse
	touched map[*index]bool // indices a delete went to, for ?refresh
}

// deleteHits deletes the hits batch by batch and tallies the outcome.
func (r *byQueryRun) deleteHits(hits []*hit) *byQueryResponse {
	r.resp = &byQueryResponse{
		Total:             int64(len(hits)),
		RequestsPerSecond: "-1.0", // unthrottled
		Failures:          []byQueryFailed{},
	}
	for len(hits) > 0 {
		batch := hits[:min(len(hits), r.p.scrollSize)]
		hits = hits[len(batch):]
		r.resp.Batches++
		for _, h := range batch {
			r.deleteHit(h)
		}
		if len(r.resp.Failures) > 0 {
			// The batch's bulk request ran whole; the next one is not sent.
			break
		}
	}
	return r.resp
}

// deleteHit deletes one hit if it is unchanged since the snapshot, as a
// bulk delete with if_seq_no and internal versioning does.
func (r *byQueryRun) deleteHit(h *hit) {
	ix := h.ix
	if f, ok := r.s.takeDocFault(h.id); ok {
		r.fail(ix, h.id, f.status, esError{Type: f.typ, Reason: faultReason(f.typ, true)})
		return
	}
	r.touched[ix] = true
	cur := ix.docs[h.id]
	curVersion, deleted := ix.currentVersion(cur, r.now)
	seqNo := h.d.seqNo
	a := &bulkAction{op: "delete", index: ix.name, id: h.id, versionType: "internal", ifSeqNo: &seqNo}
	if reason := versionConflict(a, cur, curVersion, deleted); reason != "" {
		r.resp.VersionConflicts++
		if r.p.abort {
			r.fail(ix, h.id, http.StatusConflict, esError{
				Type: "version_conflict_engine_exception", Reason: "[" + h.id + "]: version conflict, " + reason,
			})
		}
		return
	}
	// Internal versioning: the delete's version is the document's plus one,
	// and it is remembered for index.gc_deletes like any delete's.
	ix.docs[h.id] = &doc{version: curVersion + 1, seqNo: ix.seqNo, deleted: true, deletedAt: r.now}
	ix.seqNo++
	r.resp.Deleted++
}

// fail lists a failed delete in "failures".
func (r *byQueryRun) fail(ix *index, id string, status int, e esError) {
	e.Index, e.UUID = ix.name, ix.uuid
	cause := e.object()
	if status == http.StatusConflict {
		cause["shard"] = "0"
	}
	r.resp.Failures = append(r.resp.Failures, byQueryFailed{Index: ix.name, ID: id, Cause: cause, Status: status})
}
