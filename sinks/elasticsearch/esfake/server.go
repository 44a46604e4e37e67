// Package esfake is an in-process server that speaks the subset of the
// Elasticsearch 8 REST API that projector's sink and readers use, with the
// response and error bodies Elasticsearch documents. Elasticsearch cannot run
// on the build machines; the sink's tests run against this server instead,
// and the same tests run against a real cluster when ELASTICSEARCH_URL is set.
//
// Implemented: GET / (cluster info), PUT/GET /_index_template/{name},
// PUT/HEAD/GET/DELETE /{index}, PUT/GET /{target}/_mapping (an update
// merges new fields and refuses a changed one: see putmapping.go),
// PUT/GET /{target}/_settings (dynamic settings), POST /_aliases,
// GET /_alias/{name},
// POST /_bulk and /{index}/_bulk (index, create, delete with internal,
// external and external_gte versioning; a delete's version — the given one
// with external versioning, the document's plus one with internal — is
// remembered for index.gc_deletes), GET /{target}/_doc/{id},
// POST /{target}/_refresh, GET|POST /{target}/_count and /{target}/_search
// (match_all, match_none, term, terms, ids, exists, prefix, range, match,
// multi_match, bool; size, from, sort, _source, version, and
// terms/min/max/avg/sum/value_count aggregations),
// POST /{target}/_delete_by_query (the same queries; conflicts, scroll_size
// and refresh).
//
// Parsing follows Elasticsearch's: dotted field names are object paths,
// ignore_malformed and ignore_above leave a value unindexed and list its
// field in _ignored, a source holding a number of more than 1000 digits or
// nested more than 1000 deep is refused as Jackson's parser refuses it
// (see parserConstraints), and a request body over http.max_content_length
// (SetMaxContentLength) is answered 413.
//
// Searches see documents as of the last refresh, as in Elasticsearch: an
// explicit _refresh, ?refresh on a bulk request, or the index's
// refresh_interval (1s unless set) elapsed when the search arrives. GET of a
// document is real time. A delete by query deletes what its search sees,
// each delete conditional on the document's seq_no as of that refresh.
//
// Text analysis is simplified: the analyzed form of a text field is its
// lowercased runs of letters and digits (close to the standard analyzer for
// Latin text). Scores are term-frequency sums, not BM25.
package esfake

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Version is the Elasticsearch version the server reports at GET /.
const Version = "8.15.0"

// DefaultMaxContentLength is Elasticsearch's default
// http.max_content_length, 100mb: a request body longer than that is
// answered 413 (see SetMaxContentLength).
const DefaultMaxContentLength = 100 << 20

// Server is a fake Elasticsearch node. The zero value is not usable: call New.
type Server struct {
	mu        sync.Mutex
	indices   map[string]*index
	templates map[string]*template
	now       func() time.Time
	seq       int64 // for generated ids and uuids

	// Authentication required when set (see RequireAPIKey, RequireBasicAuth).
	apiKey, user, pass string

	faults          faults
	down            bool
	maxContent      int64 // http.max_content_length
	bulkRequests    int
	byQueryRequests int
	searchRequests  int

	ts *httptest.Server
}

// New returns a server with no indices. Start or StartTLS it, or use it as an
// http.Handler.
func New() *Server {
	return &Server{
		indices:    map[string]*index{},
		templates:  map[string]*template{},
		now:        time.Now,
		maxContent: DefaultMaxContentLength,
	}
}

// Start serves on a loopback port over plain HTTP.
func (s *Server) Start() {
	s.ts = httptest.NewUnstartedServer(s)
	s.ts.Config.ErrorLog = quietLog
	s.ts.Start()
}

// quietLog drops the http.Server's own log lines (TLS handshake failures a
// test provokes on purpose, connections dropped by Down).
var quietLog = log.New(io.Discard, "", 0)

// StartTLS serves on a loopback port over HTTPS with a self-signed
// certificate; CACert returns it in PEM.
func (s *Server) StartTLS() {
	s.ts = httptest.NewUnstartedServer(s)
	s.ts.Config.ErrorLog = quietLog
	s.ts.StartTLS()
}

// URL is the base URL of a started server.
func (s *Server) URL() string {
	if s.ts == nil {
		return ""
	}
	return s.ts.URL
}

// CACert is the PEM certificate of a server started with StartTLS, for a
// client's trusted CAs; nil otherwise.
func (s *Server) CACert() []byte {
	if s.ts == nil || s.ts.Certificate() == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.ts.Certificate().Raw})
}

// Close stops a started server and closes its connections.
func (s *Server) Close() {
	if s.ts != nil {
		s.ts.Close()
	}
}

// SetNow replaces the clock used for index.gc_deletes and refresh_interval,
// so tests can move time forward without waiting.
func (s *Server) SetNow(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// RequireAPIKey makes every request need "Authorization: ApiKey <key>".
func (s *Server) RequireAPIKey(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apiKey = key
}

// RequireBasicAuth makes every request need HTTP basic authentication.
func (s *Server) RequireBasicAuth(user, pass string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user, s.pass = user, pass
}

// SetMaxContentLength sets http.max_content_length: a request whose body
// is longer is answered 413 Request Entity Too Large with an empty body,
// as Elasticsearch's HTTP layer answers it, before authentication and
// before anything in it is applied.
func (s *Server) SetMaxContentLength(n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxContent = n
}

// Down simulates an outage: while down, every connection is closed without
// a response, and open idle connections are dropped.
func (s *Server) Down(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
	if down && s.ts != nil {
		s.ts.CloseClientConnections()
	}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	down, maxContent := s.down, s.maxContent
	s.mu.Unlock()
	if down {
		// Drop the connection: the client sees a transport error, as when the
		// node is unreachable.
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	// go-elasticsearch v8 refuses a server that does not send this header
	// (elasticsearch.go genuineCheckHeader).
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	if r.ContentLength > maxContent {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")

	if !s.authorized(r) {
		// Shape of a security_exception for missing credentials.
		writeError(w, http.StatusUnauthorized, esError{
			Type:   "security_exception",
			Reason: "missing authentication credentials for REST request [" + r.URL.Path + "]",
		})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxContent+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, esError{Type: "parse_exception", Reason: err.Error()})
		return
	}
	if int64(len(body)) > maxContent { // a chunked body, with no length given
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Del("Content-Type")
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	s.route(w, r, body)
}

func (s *Server) authorized(r *http.Request) bool {
	s.mu.Lock()
	key, user, pass := s.apiKey, s.user, s.pass
	s.mu.Unlock()
	if key == "" && user == "" {
		return true
	}
	// The scheme is case-insensitive (RFC 7235): go-elasticsearch sends
	// "APIKey", Elasticsearch's documentation writes "ApiKey".
	scheme, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if key != "" && strings.EqualFold(scheme, "ApiKey") {
		if subtle.ConstantTimeCompare([]byte(cred), []byte(key)) == 1 {
			return true
		}
	}
	if user != "" && strings.EqualFold(scheme, "Basic") {
		want := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
		if subtle.ConstantTimeCompare([]byte(cred), []byte(want)) == 1 {
			return true
		}
	}
	return false
}

// route dispatches on the path segments, as Elasticsearch's REST controller
// does: names beginning with "_" are APIs, others are index names.
func (s *Server) route(w http.ResponseWriter, r *http.Request, body []byte) {
	parts := splitPath(r.URL.EscapedPath())
	m := r.Method
	q := r.URL.Query()
	// ?refresh, ?refresh=true and ?refresh=wait_for all make the writes
	// visible to search before the response.
	refresh := q.Has("refresh") && q.Get("refresh") != "false"
	switch {
	case strings.Contains(r.URL.EscapedPath(), "//"):
		// Elasticsearch's REST controller matches no route with an empty
		// segment (//_bulk, /es//x): no handler found, below.
	case len(parts) == 0:
		if m == http.MethodGet || m == http.MethodHead {
			s.handleInfo(w)
			return
		}
	case parts[0] == "_index_template" && len(parts) == 2:
		switch m {
		case http.MethodPut, http.MethodPost:
			s.handlePutTemplate(w, parts[1], body)
			return
		case http.MethodGet:
			s.handleGetTemplate(w, parts[1])
			return
		case http.MethodDelete:
			s.handleDeleteTemplate(w, parts[1])
			return
		}
	case parts[0] == "_aliases" && len(parts) == 1 && m == http.MethodPost:
		s.handleAliases(w, body)
		return
	case parts[0] == "_alias" && len(parts) == 2 && (m == http.MethodGet || m == http.MethodHead):
		s.handleGetAlias(w, parts[1], m == http.MethodHead)
		return
	case parts[0] == "_bulk" && len(parts) == 1 && (m == http.MethodPost || m == http.MethodPut):
		s.handleBulk(w, "", refresh, body)
		return
	case parts[0] == "_search" && len(parts) == 1 && (m == http.MethodGet || m == http.MethodPost):
		s.handleSearch(w, "_all", body)
		return
	case parts[0] == "_count" && len(parts) == 1 && (m == http.MethodGet || m == http.MethodPost):
		s.handleCount(w, "_all", body)
		return
	case parts[0] == "_refresh" && len(parts) == 1 && (m == http.MethodGet || m == http.MethodPost):
		s.handleRefresh(w, "_all")
		return
	case parts[0] == "_mapping" && len(parts) == 1 && m == http.MethodGet:
		s.handleGetMapping(w, "_all")
		return
	case parts[0] == "_settings" && len(parts) == 1 && m == http.MethodGet:
		s.handleGetSettings(w, "_all")
		return
	case strings.HasPrefix(parts[0], "_"):
		// Unknown API.
	case len(parts) == 1:
		switch m {
		case http.MethodPut:
			s.handleCreateIndex(w, parts[0], body)
			return
		case http.MethodHead:
			s.handleHeadIndex(w, parts[0])
			return
		case http.MethodGet:
			s.handleGetIndex(w, parts[0])
			return
		case http.MethodDelete:
			s.handleDeleteIndex(w, parts[0])
			return
		}
	case len(parts) == 2:
		switch {
		case parts[1] == "_bulk" && (m == http.MethodPost || m == http.MethodPut):
			s.handleBulk(w, parts[0], refresh, body)
			return
		case parts[1] == "_refresh" && (m == http.MethodPost || m == http.MethodGet):
			s.handleRefresh(w, parts[0])
			return
		case parts[1] == "_count" && (m == http.MethodPost || m == http.MethodGet):
			s.handleCount(w, parts[0], body)
			return
		case parts[1] == "_search" && (m == http.MethodPost || m == http.MethodGet):
			s.handleSearch(w, parts[0], body)
			return
		case parts[1] == "_delete_by_query" && m == http.MethodPost:
			s.handleDeleteByQuery(w, parts[0], q, body)
			return
		case parts[1] == "_alias" && m == http.MethodGet:
			s.handleGetIndexAliases(w, parts[0])
			return
		case parts[1] == "_mapping" && (m == http.MethodPut || m == http.MethodPost):
			s.handlePutMapping(w, parts[0], body)
			return
		case parts[1] == "_mapping" && m == http.MethodGet:
			s.handleGetMapping(w, parts[0])
			return
		case parts[1] == "_settings" && m == http.MethodPut:
			s.handlePutSettings(w, parts[0], body)
			return
		case parts[1] == "_settings" && m == http.MethodGet:
			s.handleGetSettings(w, parts[0])
			return
		}
	case len(parts) == 3 && parts[1] == "_doc" && (m == http.MethodGet || m == http.MethodHead):
		s.handleGetDoc(w, parts[0], parts[2], m == http.MethodHead)
		return
	}
	// Elasticsearch answers an unknown route with 400 (or 405 for a known
	// path with the wrong method); one shape is enough for a fake.
	writeError(w, http.StatusBadRequest, esError{
		Type:   "illegal_argument_exception",
		Reason: "no handler found for uri [" + r.URL.Path + "] and method [" + m + "]",
	})
}

// splitPath splits an escaped path into its decoded segments: as in
// Elasticsearch, an escaped "/" (%2F) is part of a segment, such as a doc
// id, not a separator.
func splitPath(p string) []string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if s == "" {
			continue
		}
		if u, err := url.PathUnescape(s); err == nil {
			s = u
		}
		out = append(out, s)
	}
	return out
}

func (s *Server) handleInfo(w http.ResponseWriter) {
	// Shape of GET / in Elasticsearch 8.
	writeJSON(w, http.StatusOK, map[string]any{
		"name":         "esfake",
		"cluster_name": "esfake",
		"cluster_uuid": "esfake-cluster-uuid-0000",
		"version": map[string]any{
			"number":                              Version,
			"build_flavor":                        "default",
			"build_type":                          "fake",
			"build_hash":                          "0000000000000000000000000000000000000000",
			"build_date":                          "2024-08-05T10:05:34.233336849Z",
			"build_snapshot":                      false,
			"lucene_version":                      "9.11.1",
			"minimum_wire_compatibility_version":  "7.17.0",
			"minimum_index_compatibility_version": "7.0.0",
		},
		"tagline": "You Know, for Search",
	})
}

// esError is the "error" object of an Elasticsearch error response.
type esError struct {
	Type   string
	Reason string
	Index  string // adds "index" and "index_uuid" when set
	UUID   string
	Extra  map[string]any
	Cause  *esError
}

func (e esError) object() map[string]any {
	m := map[string]any{"type": e.Type, "reason": e.Reason}
	if e.Index != "" {
		m["index"] = e.Index
		uuid := e.UUID
		if uuid == "" {
			uuid = "_na_"
		}
		m["index_uuid"] = uuid
	}
	for k, v := range e.Extra {
		m[k] = v
	}
	if e.Cause != nil {
		m["caused_by"] = e.Cause.object()
	}
	return m
}

// writeError writes Elasticsearch's error envelope:
// {"error":{"root_cause":[…],"type":…,"reason":…},"status":N}.
func writeError(w http.ResponseWriter, status int, e esError) {
	root := e
	root.Cause = nil
	obj := e.object()
	obj["root_cause"] = []any{root.object()}
	writeJSON(w, status, map[string]any{"error": obj, "status": status})
}

func indexNotFound(name string) esError {
	// Elasticsearch 8: "no such index [name]" with resource.type index_or_alias.
	return esError{
		Type:   "index_not_found_exception",
		Reason: "no such index [" + name + "]",
		Index:  name,
		Extra:  map[string]any{"resource.type": "index_or_alias", "resource.id": name},
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
