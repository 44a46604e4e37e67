package query

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Handler serves the API:
//
//	GET /v1/views                       the views the token may read
//	GET /v1/views/{view}/docs/{id}      one document
//	GET /v1/views/{view}/docs           a filtered, sorted page (PostgreSQL)
//	GET /v1/views/{view}/search         full text and facets (Elasticsearch)
//	GET /v1/openapi.json                the OpenAPI 3 description
//
// Every answer is JSON; every error is {"error": …, "code": …}.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/views", s.instrument("views", s.handleViews))
	mux.HandleFunc("GET /v1/openapi.json", s.instrument("openapi", s.handleOpenAPI))
	get := s.instrument("get", s.docs(false, func(r *http.Request, params url.Values) (readFunc, error) {
		for k := range params {
			if r.PathValue("id") == "" && k != "min_position" && k != "wait" {
				// A list asked with a trailing slash: the path is wrong,
				// not the parameter.
				return nil, badRequest("bad_parameter", echo(k), "/docs/ is the document of the empty id, which takes no %q; a list is /docs, without the slash", echo(k))
			}
		}
		if err := allowParams(params, "min_position", "wait"); err != nil {
			return nil, err
		}
		for k := range params {
			if !reserved[k] {
				return nil, badRequest("bad_parameter", echo(k), "parameter %q does not apply here", echo(k))
			}
		}
		req, err := s.prepareGet(r.PathValue("view"), r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) ([]byte, error) { return s.get(ctx, req) }, nil
	}))
	mux.HandleFunc("GET /v1/views/{view}/docs/{id}", get)
	// A text key may be the empty string: its document is at the empty
	// path segment, where {id} matches nothing.
	mux.HandleFunc("GET /v1/views/{view}/docs/{$}", get)
	mux.HandleFunc("GET /v1/views/{view}/docs", s.instrument("list", s.docs(false, func(r *http.Request, params url.Values) (readFunc, error) {
		req, err := s.prepareList(r.PathValue("view"), params)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) ([]byte, error) {
			res, err := s.list(ctx, req)
			if err != nil {
				return nil, err
			}
			return encodeList(res)
		}, nil
	})))
	mux.HandleFunc("GET /v1/views/{view}/search", s.instrument("search", s.docs(true, func(r *http.Request, params url.Values) (readFunc, error) {
		req, err := s.prepareSearch(r.PathValue("view"), params)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) ([]byte, error) {
			res, err := s.search(ctx, req)
			if err != nil {
				return nil, err
			}
			return marshal(res)
		}, nil
	})))
	mux.HandleFunc("/", s.instrument("other", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			s.writeError(w, r, &Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Message: "only GET is served", kind: ErrBadRequest})
			return
		}
		s.writeError(w, r, notFound("no such endpoint; see /v1/openapi.json"))
	}))
	h := dotIDs(mux, get)
	if s.HasTokens() {
		return h
	}
	// Counted, as any other refusal, under endpoint "other".
	refuse := s.instrument("other", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, &Error{Status: http.StatusForbidden, Code: "host_not_allowed", kind: ErrBadRequest,
			Message: "without " + TokensEnv + " the API serves requests addressed to localhost, 127.0.0.1 or [::1] only"})
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Open, the API listens on loopback only; but a web page can reach
		// a loopback server by DNS rebinding (its own name resolving to
		// 127.0.0.1), and read the answers as its own origin's. Such a
		// request still names the page's host: only one addressed to a
		// loopback name is served.
		if !loopbackHost(r.Host) {
			refuse(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// dotIDs serves the documents of the text ids "." and ".." (a slug, a
// path) with get: ServeMux cleans such a segment out of the path before
// any pattern matches, and redirects to another resource (the list, or
// the view), which a client following redirects takes for the document.
func dotIDs(mux *http.ServeMux, get http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, "/v1/views/")
		view, id, _ := strings.Cut(rest, "/docs/")
		if ok && (id == "." || id == "..") && view != "" && !strings.Contains(view, "/") && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			r.SetPathValue("view", view)
			r.SetPathValue("id", id)
			get(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// loopbackHost reports whether a Host header names this machine's loopback.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// readFunc is a document endpoint's read of a request it has checked: it
// answers the response body.
type readFunc func(ctx context.Context) ([]byte, error)

// docs wraps a document endpoint: authentication, the view grant, the
// parameters, the endpoint's own check of the request (prepare), the
// read-your-writes wait, then the read prepare returned. A request that
// can never succeed is refused before it waits, as it is without a wait.
// search marks the Elasticsearch endpoint, which must refresh after a
// wait.
func (s *Server) docs(search bool, prepare func(r *http.Request, params url.Values) (readFunc, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		arrived := time.Now()
		g, aerr := s.tokens.authenticate(r)
		if aerr != nil {
			s.writeError(w, r, aerr)
			return
		}
		name := r.PathValue("view")
		if !g.allows(name) {
			s.writeError(w, r, forbidden(name))
			return
		}
		v, err := s.view(name)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		params, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			s.writeError(w, r, badRequest("bad_query", "", "the query string does not parse"))
			return
		}
		positions, err := s.parsePositions(v, append(params["min_position"], r.Header.Values(MinPositionHeader)...))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if len(params["wait"]) > 1 {
			s.writeError(w, r, badRequest("bad_wait", "wait", "wait is given twice"))
			return
		}
		wait, err := parseWait(params.Get("wait"))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		read, err := prepare(r, params)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		// The wait has its own bound (wait, then its Kafka lookups'); the
		// reads get QueryTimeout from when they start, as a request with
		// no min_position does, which does not wait at all.
		if len(positions) > 0 {
			wctx, wcancel := context.WithTimeout(r.Context(), wait+s.opts.QueryTimeout)
			err := s.waitFor(wctx, positions, wait, arrived)
			wcancel()
			if err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.opts.QueryTimeout)
		defer cancel()
		if len(positions) > 0 && search {
			if err := s.refreshES(ctx, name); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		body, err := read(ctx)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeBody(w, http.StatusOK, body)
	}
}

// RefreshSearch makes what the view's Elasticsearch sink wrote so far
// visible to Search. After WaitFor, the watermark says a write is in
// Elasticsearch, but a search sees it only after the next refresh (1s by
// default): a caller that waited for a position and then searches calls
// this in between, as the HTTP API does.
func (s *Server) RefreshSearch(ctx context.Context, view string) error {
	if _, err := s.view(view); err != nil {
		return err
	}
	return s.refreshES(ctx, view)
}

func (s *Server) refreshES(ctx context.Context, name string) error {
	v := s.views[name]
	if v.ES == nil || s.es == nil {
		return nil // Search answers that it cannot search this view
	}
	// A refresh costs Elasticsearch a segment: one is done only when the
	// daemons acknowledged writes since the last one began (the
	// watermarks moved), one at a time per alias, so that readers adding
	// min_position to every search do not make one each.
	r, _ := s.refreshes.LoadOrStore(v.ES.Alias, &refreshed{turn: make(chan struct{}, 1)})
	last := r.(*refreshed)
	select { // a hung refresh must not hold others past their deadline
	case last.turn <- struct{}{}:
		defer func() { <-last.turn }()
	case <-ctx.Done():
		return ctx.Err()
	}
	marks, err := s.watermarks(ctx, "")
	if err != nil {
		return err
	}
	seen := fmt.Sprint(marks)
	if last.ok && seen == last.marks {
		return nil
	}
	err = s.es.refresh(ctx, v.ES.Alias)
	if e := esUndeployed(v, err); e != nil {
		return e
	}
	if err == nil {
		last.marks, last.ok = seen, true
	}
	return err
}

// refreshed is the last refresh of an alias: the watermarks read before
// it began, whose writes it made visible.
type refreshed struct {
	turn  chan struct{} // held by the request refreshing
	marks string
	ok    bool
}

func (s *Server) handleViews(w http.ResponseWriter, r *http.Request) {
	g, aerr := s.tokens.authenticate(r)
	if aerr != nil {
		s.writeError(w, r, aerr)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.QueryTimeout)
	defer cancel()
	views := s.Views(ctx, g.allows)
	if views == nil {
		views = []ViewInfo{}
	}
	body, err := marshal(map[string]any{"views": views})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeBody(w, http.StatusOK, body)
}

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	g, aerr := s.tokens.authenticate(r)
	if aerr != nil {
		s.writeError(w, r, aerr)
		return
	}
	body, err := marshal(s.OpenAPI(g.allows))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeBody(w, http.StatusOK, body)
}

// encodeList writes a page without decoding the docs PostgreSQL encoded.
func encodeList(res *ListResult) ([]byte, error) {
	n := 32
	for _, d := range res.Docs {
		n += len(d) + 1
	}
	var b bytes.Buffer
	b.Grow(n)
	b.WriteString(`{"docs":[`)
	for i, d := range res.Docs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(d)
	}
	b.WriteString(`],"next_cursor":`)
	if res.NextCursor == nil {
		b.WriteString("null")
	} else {
		b.WriteString(strconv.Quote(*res.NextCursor)) // base64url and '.': no escapes needed
	}
	b.WriteString("}")
	return b.Bytes(), nil
}

func writeBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeError answers an *Error as it says, a read that ran out of time
// or that PostgreSQL canceled (statementCanceled, logged at warn) as a
// 503 timeout, a store that cannot be reached (storeUnavailable) as a
// 503 store_unavailable (logged at warn, not shown), and anything else as
// a 500 (logged, not shown: it may name internals).
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	switch {
	case errors.As(err, &e):
	case errors.Is(err, context.DeadlineExceeded):
		e = storeTimeout()
	case (errors.Is(err, context.Canceled) || statementCanceled(err)) && r.Context().Err() != nil:
		return // the client went away
	case statementCanceled(err):
		// Logged: the database's own limit cut the read short of the
		// request's time.
		s.log.Warn("query api: postgres canceled the read", "method", r.Method, "path", r.URL.Path, "err", err)
		e = storeTimeout()
	case storeUnavailable(err):
		s.log.Warn("query api: store unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		e = &Error{Status: http.StatusServiceUnavailable, Code: "store_unavailable", Message: "a store the view is read from is unavailable; retry later"}
	default:
		s.log.Error("query api", "method", r.Method, "path", r.URL.Path, "err", err)
		e = &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"}
	}
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="projector"`)
	}
	body, merr := json.Marshal(e.body())
	if merr != nil {
		body = []byte(`{"error":"internal error","code":"internal"}`)
	}
	writeBody(w, e.Status, body)
}

func storeTimeout() *Error {
	return &Error{Status: http.StatusServiceUnavailable, Code: "timeout", Message: "the stores did not answer in time"}
}
