// Package stack wires a configuration to running parts: the query
// PostgreSQL pool, the sinks of every store and the engine. The CLI and the
// end-to-end tests build projector the same way through it.
package stack

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks/elasticsearch"
	"github.com/projectorhq/projector/sinks/postgres"
	"github.com/projectorhq/projector/sinks/redis"
)

// Stack is everything `run` and `demo` wire together.
type Stack struct {
	Config   *config.Config
	Plan     *projections.Plan
	Pool     *pgxpool.Pool
	Redis    *goredis.Client // nil without a Redis store
	Engine   *projector.Engine
	Registry *prometheus.Registry
	log      *slog.Logger
	closers  []func()
}

// Close releases the connections.
func (s *Stack) Close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
}

// Wire connects the stores, prepares their tables and builds the engine.
func Wire(ctx context.Context, cfg *config.Config, plan *projections.Plan, log *slog.Logger) (*Stack, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Stack{Config: cfg, Plan: plan, log: log, Registry: prometheus.NewRegistry()}
	s.Registry.MustRegister(prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()
	for _, d := range cfg.DisabledSinks() {
		log.Info("sink disabled: its store has no URL", "sink", d)
	}

	pool, err := pgxpool.New(ctx, cfg.Stores.Postgres.URL)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s.Pool = pool
	s.closers = append(s.closers, pool.Close)
	if err := pool.Ping(ctx); err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}

	var routes []projector.Route
	if views := PostgresViews(plan); len(views) > 0 {
		sink, err := postgres.New(pool, views)
		if err != nil {
			return nil, fmt.Errorf("postgres sink: %w", err)
		}
		if err := sink.Migrate(ctx); err != nil {
			return nil, fmt.Errorf("postgres sink: %w", err)
		}
		routes = append(routes, projector.Route{Sink: sink, Views: viewNames(views, func(v postgres.View) string { return v.Name })})
	}
	if views := RedisViews(plan); len(views) > 0 && cfg.Stores.Redis.URL != "" {
		opts, err := goredis.ParseURL(cfg.Stores.Redis.URL)
		if err != nil {
			return nil, fmt.Errorf("redis: %w", err)
		}
		s.Redis = goredis.NewClient(opts)
		s.closers = append(s.closers, func() { _ = s.Redis.Close() })
		sink, err := redis.New(s.Redis, views, redis.Options{})
		if err != nil {
			return nil, fmt.Errorf("redis sink: %w", err)
		}
		routes = append(routes, projector.Route{Sink: sink, Views: viewNames(views, func(v redis.View) string { return v.Name })})
	}
	if views := ElasticsearchViews(plan); len(views) > 0 && cfg.Stores.Elasticsearch.URL != "" {
		es := cfg.Stores.Elasticsearch
		ecfg := elasticsearch.Config{URL: es.URL, APIKey: es.APIKey, Username: es.Username, Password: es.Password}
		if es.CACert != "" {
			pem, err := os.ReadFile(es.CACert)
			if err != nil {
				return nil, fmt.Errorf("elasticsearch ca_cert: %w", err)
			}
			ecfg.CACert = pem
		}
		sink, err := elasticsearch.New(ecfg, views)
		if err != nil {
			return nil, fmt.Errorf("elasticsearch sink: %w", err)
		}
		if err := sink.Setup(ctx); err != nil {
			return nil, fmt.Errorf("elasticsearch sink: %w", err)
		}
		routes = append(routes, projector.Route{Sink: sink, Views: viewNames(views, func(v elasticsearch.View) string { return v.Name })})
	}

	eng, err := projector.New(projector.Options{
		Plan:       plan,
		Pool:       pool,
		Schema:     cfg.Stores.Postgres.Schema,
		Sinks:      routes,
		Logger:     log,
		Metrics:    projector.NewMetrics(s.Registry),
		MaxBackoff: 30 * time.Second,
	})
	if err != nil {
		return nil, err
	}
	if err := eng.Migrate(ctx); err != nil {
		return nil, err
	}
	s.Engine = eng
	ok = true
	return s, nil
}

func viewNames[V any](views []V, name func(V) string) []string {
	out := make([]string, len(views))
	for i, v := range views {
		out[i] = name(v)
	}
	return out
}

// fieldsOf returns the view's top-level columns, limited to a sink's field
// selection when it has one.
func fieldsOf(v *projections.View, only []string) []projections.Column {
	var out []projections.Column
	for _, c := range v.Columns() {
		if len(only) == 0 || contains(only, c.Name) || contains(v.ID, c.Name) {
			out = append(out, c)
		}
	}
	return out
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

// PostgresViews maps the views with a PostgreSQL sink to that sink's view
// definitions (generation 1; a rebuild sets another).
func PostgresViews(plan *projections.Plan) []postgres.View {
	var out []postgres.View
	for _, v := range plan.Views {
		ps := v.Sinks.Postgres
		if ps == nil {
			continue
		}
		pv := postgres.View{Name: v.Name, Schema: ps.Schema, Table: ps.Table, ID: v.ID}
		for _, c := range fieldsOf(v, ps.Fields) {
			pv.Columns = append(pv.Columns, postgres.Column{Name: c.Name, Type: c.Type.String()})
		}
		for _, ix := range ps.Indexes {
			pv.Indexes = append(pv.Indexes, postgres.Index{Fields: ix.Fields, Unique: ix.Unique})
		}
		out = append(out, pv)
	}
	return out
}

// RedisViews maps the views with a Redis sink to that sink's definitions.
func RedisViews(plan *projections.Plan) []redis.View {
	var out []redis.View
	for _, v := range plan.Views {
		rs := v.Sinks.Redis
		if rs == nil {
			continue
		}
		out = append(out, redis.View{Name: v.Name, Key: rs.Key, Format: rs.Format, TTL: time.Duration(rs.TTL), Fields: rs.Fields})
	}
	return out
}

// ElasticsearchViews maps the views with an Elasticsearch sink to that
// sink's definitions (generation 1; a rebuild sets another).
func ElasticsearchViews(plan *projections.Plan) []elasticsearch.View {
	var out []elasticsearch.View
	for _, v := range plan.Views {
		es := v.Sinks.Elasticsearch
		if es == nil {
			continue
		}
		ev := elasticsearch.View{Name: v.Name, Alias: es.Index}
		for _, c := range v.Columns() {
			ev.Fields = append(ev.Fields, elasticsearch.Field{Name: c.Name, Type: c.Type.String()})
		}
		out = append(out, ev)
	}
	return out
}
