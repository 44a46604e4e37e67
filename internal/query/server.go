package query

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/kafkautil"
	"github.com/projectorhq/projector/internal/redisconn"
	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/sinks/redis"
)

// Options tune a Server; the zero value is usable.
type Options struct {
	Logger *slog.Logger
	// Tokens is a TokensEnv value; empty leaves the API open, which Listen
	// allows only on a loopback address.
	Tokens string
	// CursorKey signs list cursors (see CursorKeyEnv); empty draws a random
	// key for this process.
	CursorKey string
	// Kafka adds franz-go options to the client that reads end offsets (the
	// demo's embedded cluster needs none; a secured cluster would).
	Kafka []kgo.Opt
	// KafkaTimeout bounds one Kafka lookup. Default 2s.
	KafkaTimeout time.Duration
	// QueryTimeout bounds a request's reads, on top of its read-your-writes
	// wait. Default 10s.
	QueryTimeout time.Duration
	// ConnectTimeout bounds New's first connection to the query
	// PostgreSQL, as validate bounds its own: one that takes the
	// connection and never answers would otherwise hold the start as long
	// as pgxpool's connect timeout, two minutes, serving nothing. Default
	// 10s.
	ConnectTimeout time.Duration
	// Registerer gets the API's metrics; nil registers none.
	Registerer prometheus.Registerer
	// Version is reported in the OpenAPI document.
	Version string
}

// Server answers queries over the views of one configuration. It reads the
// stores directly (its own connections, read-only sessions), so it runs in
// `projector serve`, inside `projector run --serve`, or under the CLI's
// `projector query` without HTTP.
type Server struct {
	refreshes sync.Map // Elasticsearch alias → *refreshed
	opts      Options
	log       *slog.Logger
	plan      *projections.Plan
	schema    string // projector's own schema: the watermarks
	views     map[string]*view
	tokens    tokens
	cursors   cursorCodec
	pool      *pgxpool.Pool
	redis     *redisClient // nil without a Redis view
	redisKeys *redis.Sink  // resolves key templates; never writes
	es        *esClient    // nil without an Elasticsearch view
	kafka     *kgo.Client
	adm       *kadm.Client
	// kafkaHealth explains why Kafka could not be asked; nil without Kafka.
	kafkaHealth *kafkautil.Health
	offsets     *offsetCache
	// lagFailures backs off the lag lookup of GET /v1/views on its own:
	// its failures say nothing about the topics a wait asks for.
	lagFailures *backoff
	metrics     *metrics
	closers     []func()
}

// New connects to the configuration's stores. It fails when the query
// PostgreSQL does not answer or Options are invalid.
func New(ctx context.Context, cfg *config.Config, plan *projections.Plan, opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.KafkaTimeout <= 0 {
		opts.KafkaTimeout = 2 * time.Second
	}
	if opts.QueryTimeout <= 0 {
		opts.QueryTimeout = 10 * time.Second
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = 10 * time.Second
	}
	views, err := catalog(cfg, plan)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	s := &Server{opts: opts, log: opts.Logger, plan: plan, schema: cfg.Stores.Postgres.Schema, views: views}
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()
	if s.tokens, err = parseTokens(opts.Tokens, s.views); err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	if opts.CursorKey != "" {
		sum := sha256.Sum256([]byte(opts.CursorKey))
		key = sum[:]
	} else if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("cursor key: %w", err)
	}
	s.cursors = cursorCodec{key: key}

	pc, err := stack.PoolConfig(cfg.Stores.Postgres.URL)
	if err != nil {
		return nil, fmt.Errorf("%w: postgres url: %w", ErrConfig, err)
	}
	// Read-only sessions: whatever a request could do, it cannot write.
	// UTC makes timestamptz values read the same on every server.
	pc.ConnConfig.RuntimeParams["default_transaction_read_only"] = "on"
	pc.ConnConfig.RuntimeParams["timezone"] = "UTC"
	pc.ConnConfig.RuntimeParams["application_name"] = "projector-query"
	if s.pool, err = pgxpool.NewWithConfig(ctx, pc); err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s.closers = append(s.closers, s.pool.Close)
	if err := s.ping(ctx); err != nil {
		return nil, err
	}
	if err := s.connectRedis(ctx, cfg); err != nil {
		return nil, err
	}
	if err := s.connectES(cfg); err != nil {
		return nil, err
	}
	if len(cfg.Kafka.Brokers) > 0 {
		kopts, err := kafkautil.ClientOpts(cfg.Kafka)
		if err != nil {
			return nil, fmt.Errorf("kafka: %w", err)
		}
		// Kafka only helps a read-your-writes wait end early (the caught-up
		// test): a read succeeds without it, so its failures are not the
		// query API's errors. The hook's lines go to debug; a wait that
		// ran out while Kafka could not be asked warns, with the hook's
		// explanation (TLS, SASL), which a timeout does not give.
		s.kafkaHealth = kafkautil.NewHealth(slog.New(atLevel{s.log.Handler(), slog.LevelDebug}).With("component", "query-kafka"))
		kopts = append(append(kopts, s.kafkaHealth.Opt(), kgo.ClientID(cfg.Kafka.ClientID+"-query")), opts.Kafka...)
		if s.kafka, err = kgo.NewClient(kopts...); err != nil {
			return nil, fmt.Errorf("kafka: %w", err)
		}
		s.closers = append(s.closers, s.kafka.Close)
		s.adm = kadm.NewClient(s.kafka)
	}
	s.offsets = newOffsetCache(s.adm, opts.KafkaTimeout)
	s.lagFailures = newBackoff(kafkaBackoff)
	s.closers = append(s.closers, s.offsets.close)
	if s.metrics, err = newMetrics(opts.Registerer); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

// ping checks that the query PostgreSQL answers, within ConnectTimeout.
func (s *Server) ping(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, s.opts.ConnectTimeout)
	defer cancel()
	err := s.pool.Ping(pctx)
	switch {
	case err == nil:
		return nil
	case stack.RefusedPostgres(err):
		return fmt.Errorf("%w: stores.postgres.url: %w", ErrConfig, err) // as run: no retry fixes it
	case ctx.Err() == nil && pctx.Err() != nil:
		return fmt.Errorf("postgres: no answer within %s: %w", s.opts.ConnectTimeout, err)
	}
	return fmt.Errorf("postgres: %w", err)
}

func (s *Server) connectRedis(ctx context.Context, cfg *config.Config) error {
	var views []redis.View
	for _, pv := range s.plan.Views {
		if v := s.views[pv.Name]; v.Redis != nil {
			views = append(views, redis.View{Name: v.Name, Key: v.Redis.Key, Format: v.Redis.Format, TTL: v.Redis.TTL, Fields: v.Redis.Fields})
		}
	}
	if len(views) == 0 {
		return nil
	}
	// A read is bounded by its request's context: go-redis otherwise
	// ignores the context's deadline (a new connection's handshake waits
	// out read_timeout, 5s), and a get would not be left the time to fall
	// back to PostgreSQL. One dial per attempt of a command, not five
	// 100ms apart: the command already retries a failed dial (max_retries,
	// with backoff), and a get whose Redis refuses connections should fall
	// back in milliseconds, not after two seconds of redials. A Redis that
	// does not answer now gets a single-node client (see
	// stack.OpenRedis), whose gets fall back as from a Redis down.
	tune := redisconn.Tuning{ContextTimeout: true, DialerRetries: 1}
	c, known, err := stack.OpenRedis(ctx, cfg.Stores.Redis.URL, tune)
	if err != nil {
		return fmt.Errorf("%w: redis url: %w", ErrConfig, err)
	}
	s.redis = &redisClient{url: cfg.Stores.Redis.URL, tune: tune, c: c, known: known}
	s.closers = append(s.closers, s.redis.close)
	if s.redisKeys, err = redis.New(c, views, redis.Options{}); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}

func (s *Server) connectES(cfg *config.Config) error {
	need := false
	for _, v := range s.views {
		need = need || v.ES != nil
	}
	if !need {
		return nil
	}
	es := cfg.Stores.Elasticsearch
	u, err := url.Parse(es.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: elasticsearch url is not http(s)://host:port", ErrConfig)
	}
	user, pass := es.Username, string(es.Password)
	if u.User != nil {
		if user == "" && pass == "" {
			user = u.User.Username()
			pass, _ = u.User.Password()
		}
		u.User = nil // never in an error message
	}
	header := http.Header{}
	switch {
	case es.APIKey != "":
		header.Set("Authorization", "ApiKey "+string(es.APIKey))
	case user != "" || pass != "":
		header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 32
	if es.CACert != "" {
		pem, err := os.ReadFile(es.CACert)
		if err != nil {
			return fmt.Errorf("%w: elasticsearch ca_cert: %w", ErrConfig, err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return fmt.Errorf("%w: elasticsearch ca_cert holds no PEM certificate", ErrConfig)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	// The requests' paths begin with "/": a URL ending in one (a host's,
	// or a path prefix's, http://host/es/) would make an empty segment,
	// which Elasticsearch routes nowhere. The sink trims it too.
	s.es = &esClient{base: strings.TrimRight(u.String(), "/"), header: header, http: &http.Client{Transport: tr}}
	s.closers = append(s.closers, tr.CloseIdleConnections)
	return nil
}

// Close releases the connections.
func (s *Server) Close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

// HasTokens reports whether the API requires bearer tokens.
func (s *Server) HasTokens() bool { return len(s.tokens) > 0 }

func (s *Server) view(name string) (*view, error) {
	v := s.views[name]
	if v == nil {
		return nil, notFound("no view %q", echo(name))
	}
	return v, nil
}

// HTTPServer is the API listening on an address.
type HTTPServer struct {
	srv *http.Server
	ln  net.Listener
}

// Listen binds addr, refusing a non-loopback address without tokens
// (CheckListen).
func (s *Server) Listen(addr string) (*HTTPServer, error) {
	if err := CheckListen(addr, s.HasTokens()); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("query api: %w", err)
	}
	return &HTTPServer{ln: ln, srv: &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      maxWait + s.opts.QueryTimeout + 5*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10, // the request line counts: URLs stay under 64 KiB
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}}, nil
}

// Addr is the address the server listens on.
func (h *HTTPServer) Addr() string { return h.ln.Addr().String() }

// Serve serves until Shutdown.
func (h *HTTPServer) Serve() error {
	if err := h.srv.Serve(h.ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Shutdown stops accepting requests and waits for those in flight.
func (h *HTTPServer) Shutdown(ctx context.Context) error { return h.srv.Shutdown(ctx) }
