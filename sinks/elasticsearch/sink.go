// Package elasticsearch writes view documents into Elasticsearch 8, one index
// per view generation (<alias>-g<N>) behind an alias that readers query.
//
// Every write carries the doc's Rev as an external version with
// version_type=external, so only a strictly higher Rev replaces what is
// stored: a write computed from older state, or a replay of the same Rev,
// gets a 409 version_conflict_engine_exception, which the sink counts as
// stale and treats as done. Deleted docs are written as tombstone documents
// with the delete's Rev (see Write).
//
// Why external and not external_gte: the engine's contract is that a doc
// whose stored rev is not lower is left alone (the Postgres sink's guard is
// view.rev < excluded.rev), and the shared behaviour suite checks that an
// equal Rev does not overwrite. external_gte would accept an equal Rev.
// Since a Rev is assigned to one computed content, the two differ only when
// the same Rev arrives with other content, which must not win.
package elasticsearch

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	es "github.com/elastic/go-elasticsearch/v8"
)

// Field is a top-level field of a view document.
type Field struct {
	Name string
	Type string // SQL type text from the view definition: bigint, numeric(10,2), text[], jsonb, …
}

// View is one view the sink writes.
type View struct {
	Name   string
	Alias  string // what readers query; default Name
	Fields []Field
	// Mappings replaces the generated mapping of a field (field name, or
	// dotted path into an embedded object → Elasticsearch mapping object).
	Mappings   map[string]any
	Generation int // the generation written; default 1
}

// Config says how to reach the cluster.
type Config struct {
	// URL is http(s)://host:port, with a path when a reverse proxy serves
	// the cluster under one; user info in it is used as basic auth.
	URL string
	// APIKey is the encoded API key (base64 of id:key), sent as
	// "Authorization: ApiKey <APIKey>"; it takes precedence over basic auth.
	APIKey             string
	Username, Password string
	CACert             []byte // PEM; trusted instead of the system roots when set
	// Retries bounds the retries of 429 and 5xx responses and items within
	// one Write: 0 means the default (5), a negative value none.
	Retries int
	// MaxBackoff caps the exponential backoff between retries; default 5s.
	MaxBackoff time.Duration
	// RequestTimeout bounds one request, its answer read included: 0 means
	// the default (2m), a negative value none. A request cut short fails
	// as unreachable, an outage its caller retries.
	RequestTimeout time.Duration
}

const (
	defaultRetries    = 5
	defaultMaxBackoff = 5 * time.Second
	defaultTimeout    = 2 * time.Minute
	initialBackoff    = 100 * time.Millisecond
)

// Sink is an Elasticsearch read store. It is safe for concurrent use.
type Sink struct {
	es         *es.Client
	transport  *http.Transport
	views      map[string]*view
	order      []*view
	retries    int
	maxBackoff time.Duration
	timeout    time.Duration // of one request; 0: none
	stale      atomic.Uint64
	// now stamps tombstones (DeletedAtField) and dates PurgeTombstones'
	// cutoff; tests replace it to age tombstones without waiting.
	now func() time.Time
	// purgePage is how many tombstones a round of PurgeTombstones handles;
	// 0 means defaultPurgePage. Tests lower it to exercise the rounds.
	purgePage int
	// prefix is the URL's path without its trailing slash, decoded and as
	// sent (escaped), put before every request's path (see newRequest).
	prefix, rawPrefix string
}

// view is a View with its defaults applied and the bytes every bulk action
// of it starts with.
type view struct {
	View
	index      string // <alias>-g<Generation>
	actionHead []byte // {"index":{"_index":"<index>","_id":
	lost       bool   // see AliasLost
}

// AliasLost tells Setup that the view's alias was deployed and its index
// deleted since (the alias went with it): Setup creates the index but puts
// no alias on it, so that readers are not shown an index holding only the
// documents written from now on; a rebuild does.
func (s *Sink) AliasLost(viewName string) {
	if v, ok := s.views[viewName]; ok {
		v.lost = true
	}
}

// New checks the configuration and builds a sink; it does not contact the
// cluster (Setup does). Every problem is reported, joined, each wrapping
// ErrConfig.
func New(cfg Config, views []View) (*Sink, error) {
	var problems []error
	bad := func(format string, a ...any) {
		problems = append(problems, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, a...)...))
	}
	u, err := url.Parse(cfg.URL)
	switch {
	case cfg.URL == "":
		bad("url is required")
	case err != nil:
		bad("url does not parse") // the parse error may echo a password
	case u.Scheme != "http" && u.Scheme != "https":
		// Not echoed: without "//", user:password@host parses as scheme
		// "user" and an opaque rest holding the password.
		bad("url must be http(s)://host:port")
	case u.Host == "" && u.Opaque != "":
		// http:user:password@host, without "//": the rest is opaque,
		// password included.
		bad("url must be http(s)://host:port")
	case u.Host == "":
		bad("url %q must be http(s)://host:port", redact(u))
	}
	if err == nil && u.User != nil {
		// Move credentials out of the URL so no error or log line that
		// prints the address can show them.
		if cfg.Username == "" && cfg.Password == "" {
			cfg.Username = u.User.Username()
			cfg.Password, _ = u.User.Password()
		}
		u.User = nil
	}
	if cfg.APIKey != "" && (cfg.Username != "" || cfg.Password != "") {
		bad("set api_key or username/password, not both")
	}
	var roots *x509.CertPool
	if len(cfg.CACert) > 0 {
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(cfg.CACert) {
			bad("ca_cert holds no PEM certificate")
		}
	}
	s := &Sink{views: map[string]*view{}, retries: cfg.Retries, maxBackoff: cfg.MaxBackoff, timeout: cfg.RequestTimeout, now: time.Now}
	switch {
	case s.timeout == 0:
		s.timeout = defaultTimeout
	case s.timeout < 0:
		s.timeout = 0
	}
	if s.retries == 0 {
		s.retries = defaultRetries
	}
	if s.retries < 0 {
		s.retries = 0
	}
	if s.maxBackoff <= 0 {
		s.maxBackoff = defaultMaxBackoff
	}
	if len(views) == 0 {
		bad("no views")
	}
	aliases := map[string]string{}
	for _, v := range views {
		if v.Name == "" {
			bad("a view has no name")
			continue
		}
		if _, dup := s.views[v.Name]; dup {
			bad("view %q declared twice", v.Name)
			continue
		}
		if v.Alias == "" {
			v.Alias = v.Name
		}
		if v.Generation == 0 {
			v.Generation = 1
		}
		if v.Generation < 0 {
			bad("view %q: generation %d is negative", v.Name, v.Generation)
		}
		if !validName(v.Alias) {
			bad("view %q: alias %q is not a valid index name (lowercase, no \\/*?\"<>| ,#:, not starting with _-+)", v.Name, v.Alias)
		}
		if other, dup := aliases[v.Alias]; dup {
			bad("views %q and %q share alias %q", other, v.Name, v.Alias)
		}
		aliases[v.Alias] = v.Name
		if _, err := templateBody(&v); err != nil {
			problems = append(problems, err)
		}
		vs := &view{View: v, index: v.Alias + "-g" + strconv.Itoa(v.Generation)}
		vs.actionHead = []byte(`{"index":{"_index":` + jsonString(vs.index) + `,"_id":`)
		s.views[v.Name] = vs
		s.order = append(s.order, vs)
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}

	// The client is given the bare host and newRequest adds the path: the
	// client's own join sets URL.Path alone and leaves RawPath stale, so
	// that an escaped "/" in a doc id (%2F) would be sent as a separator.
	s.rawPrefix = strings.TrimRight(u.EscapedPath(), "/")
	s.prefix, _ = url.PathUnescape(s.rawPrefix) // EscapedPath is valid escaping
	u.Path, u.RawPath = "", ""

	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	if roots != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	client, err := es.NewClient(es.Config{
		Addresses: []string{u.String()},
		APIKey:    cfg.APIKey,
		Username:  cfg.Username,
		Password:  cfg.Password,
		Transport: tr,
		// Write retries itself with backoff and per-item bookkeeping; the
		// transport's own retries would hide attempts from that count.
		DisableRetry: true,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	s.es = client
	s.transport = tr
	return s, nil
}

func redact(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}

// jsonString is s as a JSON string, for the bulk lines the sink writes
// by hand. strconv.Quote is not JSON: it writes control characters, DEL
// and runes it deems unprintable as \x7f or \U000e0001 escapes, which
// Elasticsearch refuses, failing the whole request.
func jsonString(s string) string {
	b, _ := json.Marshal(s) // a string always encodes
	return string(b)
}

func validName(n string) bool {
	return n != "" && n != "." && n != ".." && strings.ToLower(n) == n && len(n) <= 200 &&
		!strings.ContainsAny(n, "\\/*?\"<>| ,#:") && !strings.ContainsAny(n[:1], "_-+")
}

// Close releases the sink's idle connections. The sink must not be used
// afterwards.
func (s *Sink) Close() {
	s.transport.CloseIdleConnections()
}

// Name implements the engine's Sink interface.
func (s *Sink) Name() string { return "elasticsearch" }

// Stale is how many writes Elasticsearch refused as older than the stored
// revision (409 version conflicts), counted since New.
func (s *Sink) Stale() uint64 { return s.stale.Load() }

// Setup makes each view writable and readable: the index template
// (<alias>-g1* … <alias>-g9* → generated mappings; see templateBody), the
// generation index, and the alias pointing at it when the alias does not
// exist yet. An existing alias is left where it is: moving it is
// SwapAlias's job. Setup is idempotent.
//
// A rebuild may give the alias its first generation (AddAlias) between
// Setup's look and its add: the alias would then be on two indices, and
// readers would see every document twice. So Setup looks again after its
// add and takes the alias back off its index when another one has it;
// AddAlias takes it off every other generation in the same request as
// its add. Whichever order the two run in, the rebuild's generation has
// the alias alone.
//
// The template shapes indices created after it. An existing generation
// index is given the generated mapping of each field it does not map yet
// (a field added to the view: see mapAddedFields), and keeps the mapping
// of every other, so a change of a view's field types or mapping
// overrides, or of the generated mappings, takes effect with the next
// generation (a rebuild).
func (s *Sink) Setup(ctx context.Context) error {
	if err := s.CreateIndices(ctx); err != nil {
		return err
	}
	for _, v := range s.order {
		status, err := s.call(ctx, http.MethodGet, "/_alias/"+url.PathEscape(v.Alias), nil, nil)
		if err != nil && status != http.StatusNotFound {
			return fmt.Errorf("elasticsearch: view %s: get alias %s: %w", v.Name, v.Alias, err)
		}
		if status == http.StatusNotFound && !v.lost {
			add := map[string]any{"actions": []any{map[string]any{"add": map[string]any{
				"index": v.index, "alias": v.Alias, "filter": aliasFilter(),
			}}}}
			if _, err := s.call(ctx, http.MethodPost, "/_aliases", add, nil); err != nil {
				return fmt.Errorf("elasticsearch: view %s: add alias %s: %w", v.Name, v.Alias, err)
			}
			if err := s.yieldAlias(ctx, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// yieldAlias takes v's alias off v's index when another index has it too:
// a rebuild's AddAlias ran while Setup added it.
func (s *Sink) yieldAlias(ctx context.Context, v *view) error {
	on, err := s.AliasIndices(ctx, v.Alias)
	if err != nil {
		return fmt.Errorf("elasticsearch: view %s: %w", v.Name, err)
	}
	if len(on) < 2 || !slices.Contains(on, v.index) {
		return nil
	}
	remove := map[string]any{"actions": []any{map[string]any{"remove": map[string]any{"index": v.index, "alias": v.Alias}}}}
	if _, err := s.call(ctx, http.MethodPost, "/_aliases", remove, nil); err != nil {
		return fmt.Errorf("elasticsearch: view %s: take alias %s off %s, which a rebuild gave %v: %w", v.Name, v.Alias, v.index, on, err)
	}
	return nil
}

// ownTemplate refuses to overwrite an index template named as v's alias
// that projector did not make: Elasticsearch's own (logs, metrics,
// synthetics: the cluster's data streams would lose their mappings), or
// another application's.
func (s *Sink) ownTemplate(ctx context.Context, v *view) error {
	var got struct {
		IndexTemplates []struct {
			Name          string `json:"name"`
			IndexTemplate struct {
				Meta struct {
					ManagedBy string `json:"managed_by"`
				} `json:"_meta"`
			} `json:"index_template"`
		} `json:"index_templates"`
	}
	status, err := s.call(ctx, http.MethodGet, "/_index_template/"+url.PathEscape(v.Alias), nil, &got)
	switch {
	case status == http.StatusNotFound:
		return nil
	case err != nil:
		return fmt.Errorf("elasticsearch: view %s: get index template: %w", v.Name, err)
	}
	for _, t := range got.IndexTemplates {
		if t.Name == v.Alias && t.IndexTemplate.Meta.ManagedBy != "projector" {
			return fmt.Errorf("elasticsearch: view %s: %w: the index template %q exists and is not projector's (Elasticsearch's own, or another application's): give the view another index name",
				v.Name, ErrForeignTemplate, v.Alias)
		}
	}
	return nil
}

// CreateIndices is Setup without the aliases: the index templates and the
// generation indices, an existing one given the mappings of the fields
// added to its view since it was created (mapAddedFields). A rebuild
// creates its generation so, leaving the alias to the swap even where it
// does not exist yet: readers must not search an index being filled.
func (s *Sink) CreateIndices(ctx context.Context) error {
	for _, v := range s.order {
		tmpl, err := templateBody(&v.View)
		if err != nil {
			return err
		}
		if err := s.ownTemplate(ctx, v); err != nil {
			return err
		}
		if _, err := s.call(ctx, http.MethodPut, "/_index_template/"+url.PathEscape(v.Alias), tmpl, nil); err != nil {
			return fmt.Errorf("elasticsearch: view %s: put index template: %w", v.Name, err)
		}
		created, err := s.createIndex(ctx, v)
		if err != nil {
			return err
		}
		if !created {
			if err := s.mapAddedFields(ctx, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// createIndex creates v's generation index from its template, and reports
// false when the index exists already.
func (s *Sink) createIndex(ctx context.Context, v *view) (created bool, err error) {
	if _, err := s.call(ctx, http.MethodPut, "/"+url.PathEscape(v.index), nil, nil); err != nil {
		var ae *APIError
		if errors.As(err, &ae) && ae.Type == "resource_already_exists_exception" {
			return false, nil
		}
		return false, fmt.Errorf("elasticsearch: view %s: create index %s: %w", v.Name, v.index, err)
	}
	return true, nil
}

// AddAlias points a view's alias, which must not exist yet, at generation
// to: the swap of a view's first Elasticsearch generation, which no
// daemon created (Elasticsearch was added to the view for the rebuild).
func (s *Sink) AddAlias(ctx context.Context, viewName string, to int) error {
	v, ok := s.views[viewName]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownView, viewName)
	}
	index := v.Alias + "-g" + strconv.Itoa(to)
	// Off any other generation in the same atomic request: a daemon's
	// Setup may have added it since the caller looked (see Setup).
	add := map[string]any{"actions": []any{
		map[string]any{"remove": map[string]any{"index": v.Alias + "-g*", "alias": v.Alias}},
		map[string]any{"add": map[string]any{"index": index, "alias": v.Alias, "filter": aliasFilter()}},
	}}
	if _, err := s.call(ctx, http.MethodPost, "/_aliases", add, nil); err != nil {
		return fmt.Errorf("elasticsearch: view %s: add alias %s to %s: %w", v.Name, v.Alias, index, err)
	}
	return nil
}

// SwapAlias moves a view's alias from generation from to generation to in
// one _aliases request, which Elasticsearch applies atomically: readers see
// the old index or the new one, never neither. It fails with
// ErrAliasMismatch, changing nothing, when the alias is not on from.
func (s *Sink) SwapAlias(ctx context.Context, viewName string, from, to int) error {
	v, ok := s.views[viewName]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownView, viewName)
	}
	gen := func(n int) string { return v.Alias + "-g" + strconv.Itoa(n) }
	body := map[string]any{"actions": []any{
		map[string]any{"remove": map[string]any{"index": gen(from), "alias": v.Alias, "must_exist": true}},
		map[string]any{"add": map[string]any{"index": gen(to), "alias": v.Alias, "filter": aliasFilter()}},
	}}
	if _, err := s.call(ctx, http.MethodPost, "/_aliases", body, nil); err != nil {
		var ae *APIError
		// Elasticsearch 8 refuses must_exist with resource_not_found_exception
		// ("required alias [x] does not exist"); older versions said
		// aliases_not_found_exception.
		if errors.As(err, &ae) && (ae.Type == "resource_not_found_exception" || ae.Type == "aliases_not_found_exception") {
			return fmt.Errorf("%w: %s is not on %s: %w", ErrAliasMismatch, v.Alias, gen(from), err)
		}
		return fmt.Errorf("elasticsearch: swap alias %s from %s to %s: %w", v.Alias, gen(from), gen(to), err)
	}
	return nil
}

// call sends one JSON request and decodes a 2xx JSON answer into out when
// out is not nil. It returns the status, and an *APIError for a non-2xx
// answer (a transport failure wraps ErrUnreachable).
func (s *Sink) call(ctx context.Context, method, path string, body, out any) (int, error) {
	status, data, err := s.exchange(ctx, method, path, body)
	if err != nil {
		return status, err
	}
	if status >= 300 {
		return status, parseAPIError(status, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return status, fmt.Errorf("elasticsearch: %s %s: decode response: %w", method, path, err)
		}
	}
	return status, nil
}

// exchange sends one JSON request and returns the answer's status and body,
// whatever the status. A transport failure wraps ErrUnreachable.
func (s *Sink) exchange(ctx context.Context, method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, fmt.Errorf("elasticsearch: encode %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := s.requestContext(ctx)
	defer cancel()
	req, err := s.newRequest(ctx, method, path, rd)
	if err != nil {
		return 0, nil, fmt.Errorf("elasticsearch: %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := s.es.Perform(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %s %s: %w", ErrUnreachable, method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, nil, fmt.Errorf("%w: %s %s: read response: %w", ErrUnreachable, method, path, err)
	}
	return res.StatusCode, data, nil
}

// requestContext bounds one request by the sink's timeout: a cluster that
// took it and never answers (a connection that died without a reset) would
// otherwise hold the write, and the partition, until the kernel gives up.
func (s *Sink) requestContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, s.timeout)
}

// newRequest builds a request for path (escaped, with its query) under the
// URL's path prefix, keeping the escaping of both.
func (s *Sink) newRequest(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, path, body)
	if err != nil {
		return nil, err
	}
	req.URL.RawPath = s.rawPrefix + req.URL.EscapedPath()
	req.URL.Path = s.prefix + req.URL.Path
	return req, nil
}

// parseAPIError reads Elasticsearch's error envelope
// {"error":{"type","reason","caused_by"},"status"} (or the flat
// {"error":"…","status"} of some APIs).
func parseAPIError(status int, data []byte) *APIError {
	var env struct {
		Error json.RawMessage `json:"error"`
	}
	ae := &APIError{Status: status, Type: http.StatusText(status)}
	if json.Unmarshal(data, &env) != nil || len(env.Error) == 0 {
		ae.Reason = strings.TrimSpace(string(data))
		if len(ae.Reason) > 200 {
			ae.Reason = ae.Reason[:200]
		}
		return ae
	}
	var flat string
	if json.Unmarshal(env.Error, &flat) == nil {
		ae.Reason = flat
		return ae
	}
	var obj errorObject
	if json.Unmarshal(env.Error, &obj) == nil {
		ae.Type, ae.Reason = obj.Type, obj.Reason
		if obj.CausedBy != nil {
			ae.Cause = obj.CausedBy.Reason
		}
	}
	return ae
}

// errorObject is the "error" object of a response or bulk item.
type errorObject struct {
	Type     string `json:"type"`
	Reason   string `json:"reason"`
	CausedBy *struct {
		Type   string `json:"type"`
		Reason string `json:"reason"`
	} `json:"caused_by"`
}

func (o *errorObject) apiError(status int) *APIError {
	ae := &APIError{Status: status, Type: o.Type, Reason: o.Reason}
	if o.CausedBy != nil {
		ae.Cause = o.CausedBy.Reason
	}
	return ae
}
