package esfake

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// doc is one stored document version, or a delete tombstone.
type doc struct {
	version   int64
	seqNo     int64
	source    json.RawMessage
	fields    map[string]any
	deleted   bool
	deletedAt time.Time
}

// maxIDBytes is the limit on an _id's UTF-8 length
// (IndexRequest.MAX_DOCUMENT_ID_LENGTH_IN_BYTES).
const maxIDBytes = 512

// bulkAction is one parsed action/metadata line with its source.
type bulkAction struct {
	op          string // index, create, delete
	index       string
	id          string
	version     int64
	hasVersion  bool
	versionType string // internal, external, external_gte
	ifSeqNo     *int64
	requireAl   bool
	source      []byte
}

// bulkResult is one entry of the bulk response "items" array (the object
// under the action name). Field set and order follow BulkItemResponse.
type bulkResult struct {
	Index       string         `json:"_index"`
	ID          string         `json:"_id"`
	Version     int64          `json:"_version,omitempty"`
	Result      string         `json:"result,omitempty"`
	Shards      *shardsInfo    `json:"_shards,omitempty"`
	SeqNo       *int64         `json:"_seq_no,omitempty"`
	PrimaryTerm int64          `json:"_primary_term,omitempty"`
	Status      int            `json:"status"`
	Error       map[string]any `json:"error,omitempty"`
}

type shardsInfo struct {
	Total      int `json:"total"`
	Successful int `json:"successful"`
	Failed     int `json:"failed"`
}

var oneShard = &shardsInfo{Total: 2, Successful: 1, Failed: 0}

// handleBulk implements POST /_bulk and /{index}/_bulk. The response is
// {"errors":…, "took":…, "items":[{"<op>":{…}}]} with one item per action,
// in request order (docs/reference/docs/bulk.asciidoc).
func (s *Server) handleBulk(w http.ResponseWriter, defIndex string, refresh bool, body []byte) {
	start := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bulkRequests++
	if f, ok := takeRequestFault(&s.faults.requests); ok {
		writeError(w, f.status, esError{Type: f.typ, Reason: faultReason(f.typ, false)})
		return
	}
	actions, perr, status := parseBulk(body, defIndex)
	if status != 0 {
		writeError(w, status, perr)
		return
	}
	now := s.now()
	touched := map[*index]bool{}
	results := make([]map[string]*bulkResult, len(actions))
	anyErr := false
	for i := range actions {
		a := &actions[i]
		r := s.applyAction(a, now, touched)
		if r.Error != nil {
			anyErr = true
		}
		results[i] = map[string]*bulkResult{a.op: r}
	}
	if refresh {
		for ix := range touched {
			ix.refresh(now)
		}
	}
	// Elasticsearch writes "errors" before "took" and "items".
	var buf bytes.Buffer
	fmt.Fprintf(&buf, `{"errors":%t,"took":%d,"items":`, anyErr, time.Since(start).Milliseconds())
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(results); err != nil {
		writeError(w, http.StatusInternalServerError, esError{Type: "exception", Reason: err.Error()})
		return
	}
	buf.Truncate(buf.Len() - 1) // Encode's newline
	buf.WriteString("}")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

// parseBulk splits the NDJSON body into actions and checks what
// BulkRequest.validate checks; a failure rejects the whole request.
func parseBulk(body []byte, defIndex string) ([]bulkAction, esError, int) {
	var actions []bulkAction
	var problems []string
	line := 0
	for len(body) > 0 {
		nl := bytes.IndexByte(body, '\n')
		if nl < 0 {
			if len(bytes.TrimSpace(body)) == 0 {
				break
			}
			return nil, esError{Type: "illegal_argument_exception", Reason: "The bulk request must be terminated by a newline [\\n]"}, http.StatusBadRequest
		}
		cur := bytes.TrimSpace(body[:nl])
		body = body[nl+1:]
		line++
		if len(cur) == 0 {
			continue
		}
		var meta map[string]map[string]any
		dec := json.NewDecoder(bytes.NewReader(cur))
		dec.UseNumber()
		if err := dec.Decode(&meta); err != nil || len(meta) != 1 {
			return nil, esError{Type: "illegal_argument_exception", Reason: fmt.Sprintf("Malformed action/metadata line [%d], expected START_OBJECT or END_OBJECT but found [VALUE_STRING]", line)}, http.StatusBadRequest
		}
		var a bulkAction
		var params map[string]any
		for op, p := range meta {
			a.op, params = op, p
		}
		switch a.op {
		case "index", "create", "delete":
		default:
			return nil, esError{Type: "illegal_argument_exception", Reason: fmt.Sprintf("Malformed action/metadata line [%d], expected field [create], [delete], [index] or [update] but found [%s]", line, a.op)}, http.StatusBadRequest
		}
		if reason := checkActionParams(params, line); reason != "" {
			return nil, esError{Type: "illegal_argument_exception", Reason: reason}, http.StatusBadRequest
		}
		a.index, _ = params["_index"].(string)
		if a.index == "" {
			a.index = defIndex
		}
		a.id = scalarString(params["_id"])
		a.versionType = "internal"
		if vt, ok := params["version_type"].(string); ok {
			a.versionType = vt
		}
		if v, ok := params["version"].(json.Number); ok {
			n, err := v.Int64()
			if err != nil {
				return nil, esError{Type: "illegal_argument_exception", Reason: "version must be a number"}, http.StatusBadRequest
			}
			a.version, a.hasVersion = n, true
		}
		if v, ok := params["if_seq_no"].(json.Number); ok {
			n, _ := v.Int64()
			a.ifSeqNo = &n
		}
		a.requireAl, _ = params["require_alias"].(bool)
		if a.op != "delete" {
			nl := bytes.IndexByte(body, '\n')
			if nl < 0 {
				return nil, esError{Type: "illegal_argument_exception", Reason: "The bulk request must be terminated by a newline [\\n]"}, http.StatusBadRequest
			}
			a.source = bytes.TrimSpace(body[:nl])
			body = body[nl+1:]
			line++
		}
		// Checks of IndexRequest/DeleteRequest.validate, numbered across the request.
		if a.index == "" {
			problems = append(problems, "index is missing")
		}
		if a.op == "delete" && a.id == "" {
			problems = append(problems, "id is missing")
		}
		switch a.versionType {
		case "internal":
			if a.hasVersion {
				problems = append(problems, "internal versioning can not be used for optimistic concurrency control. Please use `if_seq_no` and `if_primary_term` instead")
			}
		case "external", "external_gt", "external_gte":
			if a.versionType == "external_gt" {
				a.versionType = "external"
			}
			if a.op == "create" {
				problems = append(problems, "create operations only support internal versioning. use index instead")
			}
			if !a.hasVersion || a.version < 0 {
				problems = append(problems, fmt.Sprintf("illegal version value [%d] for version type [%s]", a.version, strings.ToUpper(a.versionType)))
			}
		default:
			return nil, esError{Type: "illegal_argument_exception", Reason: "No version type match [" + a.versionType + "]"}, http.StatusBadRequest
		}
		// DocWriteRequest.validateDocIdLength: _id is at most 512 bytes.
		if len(a.id) > maxIDBytes {
			problems = append(problems, fmt.Sprintf("id [%s] is too long, must be no longer than %d bytes but was: %d", a.id, maxIDBytes, len(a.id)))
		}
		actions = append(actions, a)
	}
	if len(actions) == 0 {
		problems = append(problems, "no requests added")
	}
	if len(problems) > 0 {
		var b strings.Builder
		b.WriteString("Validation Failed: ")
		for i, p := range problems {
			fmt.Fprintf(&b, "%d: %s;", i+1, p)
		}
		return nil, esError{Type: "action_request_validation_exception", Reason: b.String()}, http.StatusBadRequest
	}
	return actions, esError{}, 0
}

// actionParams are the scalar parameters an action/metadata line may hold,
// whatever its action (BulkRequestParser). _type is not one: the 8.x REST
// API refuses it. An object may be given only for _source and
// dynamic_templates.
var actionParams = map[string]bool{
	"_index": true, "_id": true, "routing": true, "op_type": true,
	"version": true, "version_type": true, "if_seq_no": true, "if_primary_term": true,
	"retry_on_conflict": true, "pipeline": true, "_source": true,
	"require_alias": true, "require_data_stream": true, "list_executed_pipelines": true,
}

// checkActionParams returns why BulkRequestParser refuses the parameters of
// an action/metadata line, or "". A null is skipped whatever its name, as
// there. Names are checked in sorted order, not the line's, so that the
// one reported of several bad ones does not change from run to run.
func checkActionParams(params map[string]any, line int) string {
	names := make([]string, 0, len(params))
	for name := range params {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		switch params[name].(type) {
		case nil:
		case []any:
			return fmt.Sprintf("Malformed action/metadata line [%d], expected a simple value for field [%s] but found [START_ARRAY]", line, name)
		case map[string]any:
			if name != "_source" && name != "dynamic_templates" {
				return fmt.Sprintf("Malformed action/metadata line [%d], expected a simple value for field [%s] but found [START_OBJECT]", line, name)
			}
		default:
			if !actionParams[name] {
				return fmt.Sprintf("Action/metadata line [%d] contains an unknown parameter [%s]", line, name)
			}
		}
	}
	return ""
}

// applyAction runs one bulk action. Callers hold s.mu.
func (s *Server) applyAction(a *bulkAction, now time.Time, touched map[*index]bool) *bulkResult {
	fail := func(ixName, uuid string, status int, e esError) *bulkResult {
		e.Index, e.UUID = ixName, uuid
		obj := e.object()
		if status == http.StatusConflict {
			obj["shard"] = "0"
		}
		return &bulkResult{Index: ixName, ID: a.id, Status: status, Error: obj}
	}
	if f, ok := s.takeDocFault(a.id); ok {
		return fail(a.index, "", f.status, esError{Type: f.typ, Reason: faultReason(f.typ, true)})
	}
	ix, werr := s.writeIndex(a.index)
	if werr != nil {
		return fail(a.index, "", http.StatusBadRequest, *werr)
	}
	if ix == nil {
		if a.requireAl {
			e := indexNotFound(a.index)
			e.Reason = "no such index [" + a.index + "] and [require_alias] request flag is [true] and [" + a.index + "] is not an alias"
			return fail(a.index, "", http.StatusNotFound, e)
		}
		if a.op == "delete" && a.versionType == "internal" {
			// TransportBulkAction auto-creates indices for deletes only when
			// they use external versioning (so the tombstone can be kept).
			return fail(a.index, "", http.StatusNotFound, indexNotFound(a.index))
		}
		created, e, status := s.createIndex(a.index, nil)
		if status != 0 {
			return fail(a.index, "", status, e)
		}
		ix = created
	}
	if a.id == "" {
		a.id = s.autoID()
	}
	var fields map[string]any
	if a.op != "delete" {
		f, e := parseDoc(ix, a.id, a.source)
		if e != nil {
			return fail(ix.name, ix.uuid, http.StatusBadRequest, *e)
		}
		fields = f
	}

	cur := ix.docs[a.id]
	curVersion, deleted := ix.currentVersion(cur, now)
	if reason := versionConflict(a, cur, curVersion, deleted); reason != "" {
		return fail(ix.name, ix.uuid, http.StatusConflict, esError{
			Type:   "version_conflict_engine_exception",
			Reason: "[" + a.id + "]: version conflict, " + reason,
		})
	}
	newVersion := a.version
	if a.versionType == "internal" {
		newVersion = 1
		if curVersion >= 0 {
			newVersion = curVersion + 1
		}
	}
	seq := ix.seqNo
	ix.seqNo++
	touched[ix] = true
	r := &bulkResult{Index: ix.name, ID: a.id, Version: newVersion, Shards: oneShard, SeqNo: &seq, PrimaryTerm: 1}
	if a.op == "delete" {
		// A delete of a missing document still records a tombstone.
		ix.docs[a.id] = &doc{version: newVersion, seqNo: seq, deleted: true, deletedAt: now}
		r.Result, r.Status = "deleted", http.StatusOK
		if curVersion < 0 || deleted {
			r.Result, r.Status = "not_found", http.StatusNotFound
		}
		return r
	}
	src := make(json.RawMessage, len(a.source))
	copy(src, a.source)
	ix.docs[a.id] = &doc{version: newVersion, seqNo: seq, source: src, fields: fields}
	r.Result, r.Status = "updated", http.StatusOK
	if curVersion < 0 || deleted {
		r.Result, r.Status = "created", http.StatusCreated
	}
	return r
}

// currentVersion is the version a write of the doc is checked against: -1
// when there is none, and whether it is a delete's. A delete's version is
// remembered for index.gc_deletes (60s by default), then forgotten.
func (ix *index) currentVersion(cur *doc, now time.Time) (int64, bool) {
	switch {
	case cur == nil:
		return -1, false
	case !cur.deleted:
		return cur.version, false
	case now.Sub(cur.deletedAt) <= ix.gcDeletes():
		return cur.version, true
	}
	return -1, false
}

// versionConflict applies VersionType.isVersionConflictForWrites and its
// explanation texts (server/.../index/VersionType.java), plus the create and
// if_seq_no checks. It returns "" when the write may proceed.
func versionConflict(a *bulkAction, cur *doc, curVersion int64, deleted bool) string {
	live := curVersion >= 0 && !deleted
	if a.op == "create" && live {
		return fmt.Sprintf("document already exists (current version [%d])", curVersion)
	}
	if a.ifSeqNo != nil {
		if !live {
			return fmt.Sprintf("required seqNo [%d], primary term [1]. but no document was found", *a.ifSeqNo)
		}
		if cur.seqNo != *a.ifSeqNo {
			return fmt.Sprintf("required seqNo [%d], primary term [1]. current document has seqNo [%d] and primary term [1]", *a.ifSeqNo, cur.seqNo)
		}
	}
	if curVersion < 0 {
		return ""
	}
	switch a.versionType {
	case "external":
		if curVersion >= a.version {
			return fmt.Sprintf("current version [%d] is higher or equal to the one provided [%d]", curVersion, a.version)
		}
	case "external_gte":
		if curVersion > a.version {
			return fmt.Sprintf("current version [%d] is higher than the one provided [%d]", curVersion, a.version)
		}
	}
	return ""
}

func (s *Server) autoID() string {
	s.seq++
	var b [15]byte
	binary.BigEndian.PutUint64(b[7:], uint64(s.seq))
	copy(b[:7], "esfake_")
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (ix *index) gcDeletes() time.Duration {
	if v, ok := ix.settings["index.gc_deletes"]; ok {
		if d, ok := parseTimeValue(v); ok {
			return d
		}
	}
	return 60 * time.Second
}

func (ix *index) refreshInterval() time.Duration {
	if v, ok := ix.settings["index.refresh_interval"]; ok {
		if d, ok := parseTimeValue(v); ok {
			return d
		}
	}
	return time.Second
}

// refresh makes every write so far visible to search.
func (ix *index) refresh(now time.Time) {
	snap := make(map[string]*doc, len(ix.docs))
	for id, d := range ix.docs {
		if !d.deleted {
			snap[id] = d
		}
	}
	ix.searchable = snap
	ix.refreshedAt = now
}

// maybeRefresh refreshes when refresh_interval has passed since the last
// refresh, standing in for Elasticsearch's periodic refresh.
func (ix *index) maybeRefresh(now time.Time) {
	if iv := ix.refreshInterval(); iv > 0 && now.Sub(ix.refreshedAt) >= iv {
		ix.refresh(now)
	}
}

// parseTimeValue parses Elasticsearch time units (TimeValue): "-1", "500ms",
// "30s", "1m", "2h", "1d", "100micros", "10nanos".
func parseTimeValue(v string) (time.Duration, bool) {
	if v == "-1" {
		return -1, true
	}
	units := []struct {
		suffix string
		d      time.Duration
	}{{"nanos", time.Nanosecond}, {"micros", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}, {"h", time.Hour}, {"d", 24 * time.Hour}}
	for _, u := range units {
		if strings.HasSuffix(v, u.suffix) {
			n, err := strconv.ParseFloat(strings.TrimSuffix(v, u.suffix), 64)
			if err != nil {
				return 0, false
			}
			return time.Duration(n * float64(u.d)), true
		}
	}
	return 0, false
}

// handleGetDoc implements GET /{index}/_doc/{id} (real time). A missing
// document is 404 with {"_index":…,"_id":…,"found":false}.
func (s *Server) handleGetDoc(w http.ResponseWriter, target, id string, head bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ix, ok := s.indices[target]
	if !ok {
		targets, missing, found := s.resolve(target)
		if !found {
			if head {
				w.WriteHeader(http.StatusNotFound)
				return
			}
			writeError(w, http.StatusNotFound, indexNotFound(missing))
			return
		}
		if len(targets) != 1 {
			names := make([]string, len(targets))
			for i, t := range targets {
				names[i] = t.ix.name
			}
			writeError(w, http.StatusBadRequest, esError{
				Type:   "illegal_argument_exception",
				Reason: "alias [" + target + "] has more than one index associated with it [" + strings.Join(names, ", ") + "], can't execute a single index op",
			})
			return
		}
		ix = targets[0].ix
	}
	d := ix.docs[id]
	if d == nil || d.deleted {
		if head {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		writeJSON(w, http.StatusNotFound, map[string]any{"_index": ix.name, "_id": id, "found": false})
		return
	}
	if head {
		w.WriteHeader(http.StatusOK)
		return
	}
	out := map[string]any{
		"_index": ix.name, "_id": id, "_version": d.version, "_seq_no": d.seqNo, "_primary_term": 1,
		"found": true, "_source": d.source,
	}
	if ignored, ok := d.fields[IgnoredField]; ok {
		out[IgnoredField] = ignored
	}
	writeJSON(w, http.StatusOK, out)
}

// handleRefresh implements POST /{target}/_refresh.
func (s *Server) handleRefresh(w http.ResponseWriter, target string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	targets, missing, ok := s.resolve(target)
	if !ok {
		writeError(w, http.StatusNotFound, indexNotFound(missing))
		return
	}
	now := s.now()
	for _, t := range targets {
		t.ix.refresh(now)
	}
	n := len(targets)
	writeJSON(w, http.StatusOK, map[string]any{"_shards": map[string]any{"total": 2 * n, "successful": n, "failed": 0}})
}
