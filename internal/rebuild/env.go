// Package rebuild rebuilds a view into a new generation without readers
// noticing: it creates the generation's targets, has every running daemon
// write live changes to them too, fills them from the state, verifies them
// against the state, swaps them in atomically and drops the old generation
// after a grace period. The daemon side (Watch) follows the registry
// (package registry) to route live changes to the generations being built.
package rebuild

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/internal/redisconn"
	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks/elasticsearch"
	"github.com/projectorhq/projector/sinks/postgres"
	"github.com/projectorhq/projector/sinks/redis"
)

// Env is what a rebuild and the watcher work with: the configuration, the
// query PostgreSQL (state, registry, PostgreSQL views), the stores, and an
// engine over the state.
type Env struct {
	Config   *config.Config
	Plan     *projections.Plan
	Pool     *pgxpool.Pool
	Redis    goredis.UniversalClient // nil without a Redis store
	Engine   *projector.Engine
	Registry *registry.Registry
	Log      *slog.Logger

	es      *elasticsearch.Config // nil without an Elasticsearch store
	esAdmin *elasticsearch.Sink   // index and alias calls; set with es
	// esSetUp is the daemon's Elasticsearch setup still to run before its
	// writes to a generation (stack.Stack.ElasticsearchSetUp); nil outside
	// a daemon.
	esSetUp func(view string, gen int) func(context.Context) error
	live    *redis.Sink // the Redis sink, built once
	closers []func()
}

// Close releases what Open opened.
func (e *Env) Close() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
}

// Open connects to the stores for a rebuild run from the command line. It
// does not touch the views' targets: unlike stack.Wire, which prepares the
// served generations for a daemon, it must not point readers anywhere.
func Open(ctx context.Context, cfg *config.Config, plan *projections.Plan, log *slog.Logger) (*Env, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Env{Config: cfg, Plan: plan, Log: log}
	ok := false
	defer func() {
		if !ok {
			e.Close()
		}
	}()
	pcfg, err := stack.PoolConfig(cfg.Stores.Postgres.URL)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	e.Pool = pool
	e.closers = append(e.closers, pool.Close)
	if err := pool.Ping(ctx); err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if cfg.Stores.Redis.URL != "" && len(stack.RedisViews(plan)) > 0 {
		rdb, _, err := stack.OpenRedis(ctx, cfg.Stores.Redis.URL, redisconn.Tuning{})
		if err != nil {
			return nil, fmt.Errorf("redis: %w", err)
		}
		e.Redis = rdb
		e.closers = append(e.closers, func() { _ = rdb.Close() })
	}
	// The daemons' decoder: a replay (--from kafka, signal) reads Avro.
	schemas, err := stack.NewSchemaRegistry(cfg.Kafka.SchemaRegistry)
	if err != nil {
		return nil, fmt.Errorf("kafka.schema_registry: %w", err)
	}
	eng, err := projector.New(projector.Options{Plan: plan, Pool: pool, Schema: cfg.Stores.Postgres.Schema, Logger: log, Schemas: schemas})
	if err != nil {
		return nil, err
	}
	if err := eng.Migrate(ctx); err != nil {
		return nil, err
	}
	e.Engine = eng
	if err := e.init(ctx); err != nil {
		return nil, err
	}
	if err := e.checkRedis(ctx); err != nil {
		// As the daemon's start: a check that could not run every command,
		// or a Redis that does not answer yet, does not stop the rebuild.
		log.Warn("redis check: the rebuild goes on", "err", err)
	}
	ok = true
	return e, nil
}

// OpenRegistry connects to the query PostgreSQL to read the registry, for
// commands that only look (projector generations): unlike Open it creates
// nothing, neither the registry's tables nor the state's. It fails with
// ErrNotDeployed when the registry's tables do not exist. release closes
// the connections.
func OpenRegistry(ctx context.Context, cfg *config.Config) (reg *registry.Registry, release func(), err error) {
	pcfg, err := stack.PoolConfig(cfg.Stores.Postgres.URL)
	if err != nil {
		return nil, nil, fmt.Errorf("postgres: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, nil, fmt.Errorf("postgres: %w", err)
	}
	reg = registry.New(pool, cfg.Stores.Postgres.Schema)
	ok, err := reg.Exists(ctx)
	if err != nil {
		pool.Close()
		return nil, nil, fmt.Errorf("postgres: %w", err)
	}
	if !ok {
		pool.Close()
		return nil, nil, fmt.Errorf("%w: database %s has no %s.generations", ErrNotDeployed, pcfg.ConnConfig.Database, reg.Schema())
	}
	return reg, pool.Close, nil
}

// StoresOf lists the stores a view is written to in a configuration, in
// the order of Env.Stores, without connecting to them: those whose sink the
// view declares and whose store has a URL.
func StoresOf(cfg *config.Config, plan *projections.Plan, view string) []string {
	v := plan.View(view)
	if v == nil {
		return nil
	}
	var out []string
	for _, s := range declared(v) {
		if s == registry.StorePostgres || s == registry.StoreRedis && cfg.Stores.Redis.URL != "" ||
			s == registry.StoreElasticsearch && cfg.Stores.Elasticsearch.URL != "" {
			out = append(out, s)
		}
	}
	return out
}

// FromStack is the Env of a running daemon.
func FromStack(ctx context.Context, st *stack.Stack, log *slog.Logger) (*Env, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Env{Config: st.Config, Plan: st.Plan, Pool: st.Pool, Redis: st.Redis, Engine: st.Engine, Log: log,
		esSetUp: st.ElasticsearchSetUp}
	if err := e.init(ctx); err != nil {
		e.Close()
		return nil, err
	}
	_ = e.checkRedis(ctx) // what it finds, the daemon's own check at start logged
	return e, nil
}

// redisCheckTimeout bounds checkRedis, as the daemon's start check.
const redisCheckTimeout = 5 * time.Second

// checkRedis runs the Redis sink's start check (redis.Sink.Check), as the
// daemon does: it learns the longest argument the server takes
// (proto-max-bulk-len), so that a document over it is refused alone rather
// than failing its whole script call on every retry. Its error says what
// the check found; the sink is usable whatever it is (on a Redis that does
// not answer, with the default limit, as the daemon's).
func (e *Env) checkRedis(ctx context.Context) error {
	if e.live == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, redisCheckTimeout)
	defer cancel()
	return e.live.Check(ctx)
}

func (e *Env) init(ctx context.Context) error {
	e.Registry = registry.New(e.Pool, e.Config.Stores.Postgres.Schema)
	if err := e.Registry.Migrate(ctx); err != nil {
		return err
	}
	if es := e.Config.Stores.Elasticsearch; es.URL != "" && len(stack.ElasticsearchViews(e.Plan)) > 0 {
		ecfg := elasticsearch.Config{URL: es.URL, APIKey: string(es.APIKey), Username: es.Username, Password: string(es.Password),
			RequestTimeout: time.Duration(es.RequestTimeout)}
		if es.CACert != "" {
			pem, err := os.ReadFile(es.CACert)
			if err != nil {
				return fmt.Errorf("elasticsearch ca_cert: %w", err)
			}
			ecfg.CACert = pem
		}
		// The sink needs views to be built; its index and alias calls use
		// none of them.
		admin, err := elasticsearch.New(ecfg, stack.ElasticsearchViews(e.Plan))
		if err != nil {
			return fmt.Errorf("elasticsearch sink: %w", err)
		}
		e.closers = append(e.closers, admin.Close)
		e.es, e.esAdmin = &ecfg, admin
	}
	if e.Redis != nil {
		views := stack.RedisViews(e.Plan)
		if len(views) > 0 {
			s, err := redis.New(e.Redis, views, redis.Options{})
			if err != nil {
				return fmt.Errorf("redis sink: %w", err)
			}
			e.live = s
		}
	}
	return nil
}

// View returns the compiled view, or an error naming the known ones.
func (e *Env) View(name string) (*projections.View, error) {
	if v := e.Plan.View(name); v != nil {
		return v, nil
	}
	names := make([]string, 0, len(e.Plan.Views))
	for _, v := range e.Plan.Views {
		names = append(names, v.Name)
	}
	return nil, fmt.Errorf("%w: %q (the configuration declares %v)", ErrUnknownView, name, names)
}

// Stores lists the stores a view is written to in this configuration, in a
// fixed order: those whose sink the view declares and whose store has a URL.
func (e *Env) Stores(view string) []string {
	var out []string
	if pgView(e.Plan, view) != nil {
		out = append(out, registry.StorePostgres)
	}
	if e.live != nil && slices.ContainsFunc(stack.RedisViews(e.Plan), func(v redis.View) bool { return v.Name == view }) {
		out = append(out, registry.StoreRedis)
	}
	if e.es != nil && esView(e.Plan, view) != nil {
		out = append(out, registry.StoreElasticsearch)
	}
	return out
}

func pgView(plan *projections.Plan, view string) *postgres.View {
	for _, v := range stack.PostgresViews(plan) {
		if v.Name == view {
			return &v
		}
	}
	return nil
}

func esView(plan *projections.Plan, view string) *elasticsearch.View {
	for _, v := range stack.ElasticsearchViews(plan) {
		if v.Name == view {
			return &v
		}
	}
	return nil
}

// postgresSink writes one view's generation gen.
func (e *Env) postgresSink(view string, gen int) (*postgres.Sink, error) {
	v := pgView(e.Plan, view)
	if v == nil {
		return nil, fmt.Errorf("view %s has no postgres sink: %w", view, ErrUnknownView)
	}
	v.Generation = gen
	return postgres.New(e.Pool, []postgres.View{*v})
}

// esSink writes one view's generation gen.
func (e *Env) esSink(view string, gen int) (*elasticsearch.Sink, error) {
	v := esView(e.Plan, view)
	if v == nil || e.es == nil {
		return nil, fmt.Errorf("view %s has no elasticsearch sink: %w", view, ErrUnknownView)
	}
	v.Generation = gen
	return elasticsearch.New(*e.es, []elasticsearch.View{*v})
}

// esTargetSink writes one view's generation gen to index, the name the
// registry recorded for it ("" for this file's own name, esIndex); own
// reports whether index is this file's name.
func (e *Env) esTargetSink(view string, gen int, index string) (s *elasticsearch.Sink, own bool, err error) {
	v := esView(e.Plan, view)
	if v == nil || e.es == nil {
		return nil, false, fmt.Errorf("view %s has no elasticsearch sink: %w", view, ErrUnknownView)
	}
	if index == "" || index == esIndex(v, gen) {
		s, err := e.esSink(view, gen)
		return s, true, err
	}
	alias, ok := strings.CutSuffix(index, "-g"+strconv.Itoa(gen))
	if !ok || alias == "" {
		return nil, false, fmt.Errorf("view %s generation %d: registry target %q is not an index of that generation", view, gen, index)
	}
	// The sink names the index from the alias and the generation.
	v.Alias, v.Generation = alias, gen
	s, err = elasticsearch.New(*e.es, []elasticsearch.View{*v})
	return s, false, err
}

// pgTable is the physical table of a view's generation, quoted.
func pgTable(v *postgres.View, gen int) pgx.Identifier {
	return pgx.Identifier{pgSchema(v), v.Table + "__g" + strconv.Itoa(gen)}
}

// pgReader is the reader view of a view: what readers select from.
func pgReader(v *postgres.View) pgx.Identifier { return pgx.Identifier{pgSchema(v), v.Table} }

func pgSchema(v *postgres.View) string {
	if v.Schema == "" {
		return config.DefaultViewSchema
	}
	return v.Schema
}

// esAlias is the alias readers of a view search.
func esAlias(v *elasticsearch.View) string {
	if v.Alias == "" {
		return v.Name
	}
	return v.Alias
}

// esIndex is the index of a view's generation.
func esIndex(v *elasticsearch.View, gen int) string { return esAlias(v) + "-g" + strconv.Itoa(gen) }

// targets names the physical targets of a view's generation in stores, as
// this file names them; a store this file gives the view no sink in is
// left out.
func (e *Env) targets(view string, gen int, stores []string) map[string]string {
	out := map[string]string{}
	for _, s := range stores {
		switch s {
		case registry.StorePostgres:
			if v := pgView(e.Plan, view); v != nil {
				out[s] = pgTable(v, gen).Sanitize()
			}
		case registry.StoreElasticsearch:
			if v := esView(e.Plan, view); v != nil {
				out[s] = esIndex(v, gen)
			}
		}
	}
	return out
}

// createTargets creates a generation's table and index without showing
// them to readers. Both calls are idempotent; what a rebuild killed before
// registering its generation left is dropped first (see dropUnregistered).
func (e *Env) createTargets(ctx context.Context, view string, gen int, stores []string) error {
	if slices.Contains(stores, registry.StorePostgres) {
		s, err := e.postgresSink(view, gen)
		if err != nil {
			return err
		}
		if err := s.CreateGeneration(ctx, view, gen); err != nil {
			return err
		}
	}
	if slices.Contains(stores, registry.StoreElasticsearch) {
		s, err := e.esSink(view, gen)
		if err != nil {
			return err
		}
		defer s.Close()
		// The template (the mapping the new generation is built with) and
		// the index, never the alias: the swap moves it, or adds it when
		// the daemons never wrote the view to Elasticsearch.
		if err := s.CreateIndices(ctx); err != nil {
			return err
		}
	}
	return nil
}

// dropTables drops a generation's PostgreSQL table. When the view's
// table: was renamed since the generation was recorded, the reader view of
// the old name still selects from it and goes with it (no file declares
// it any more), and so does the table of the new name a daemon created for
// that generation while it was served.
func (e *Env) dropTables(ctx context.Context, t registry.Target) error {
	tables := []string{t.Name}
	if v := pgView(e.Plan, t.View); v != nil {
		if now := pgTable(v, t.Generation).Sanitize(); now != t.Name {
			tables = append(tables, now)
		}
	}
	return pgx.BeginFunc(ctx, e.Pool, func(tx pgx.Tx) error {
		if m := generationTable.FindStringSubmatch(t.Name); m != nil && !e.declaredReader(m[1]+`"`) {
			// Only a view selecting from this table, never a user's table.
			var reader string
			err := tx.QueryRow(ctx, `SELECT r.ev_class::regclass::text FROM pg_rewrite r
				JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
				JOIN pg_class c ON c.oid = r.ev_class AND c.relkind = 'v'
				WHERE r.ev_class = to_regclass($1) AND d.refobjid = to_regclass($2) LIMIT 1`, m[1]+`"`, t.Name).Scan(&reader)
			if err == nil {
				if _, err := tx.Exec(ctx, "DROP VIEW "+m[1]+`"`); err != nil {
					return fmt.Errorf("drop %s generation %d: the reader view of its former name: %w", t.View, t.Generation, err)
				}
			} else if !errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("drop %s generation %d: look for the reader view of its former name: %w", t.View, t.Generation, err)
			}
		}
		for _, name := range tables {
			if _, err := tx.Exec(ctx, "DROP TABLE IF EXISTS "+name); err != nil {
				return fmt.Errorf("drop %s generation %d: table %s: %w", t.View, t.Generation, name, err)
			}
		}
		return nil
	})
}

// generationTable splits a generation's quoted table name into its reader
// view's name without the closing quote, and the generation.
var generationTable = regexp.MustCompile(`^("(?:[^"\x00]|"")+"\."(?:[^"\x00]|"")+)__g([0-9]+)"$`)

// declaredReader reports whether a quoted name is the reader view of a
// view this file declares.
func (e *Env) declaredReader(name string) bool {
	for _, v := range e.Plan.Views {
		if pv := pgView(e.Plan, v.Name); pv != nil && pgReader(pv).Sanitize() == name {
			return true
		}
	}
	return false
}

// quotedTable is a table name as pgx.Identifier.Sanitize writes it, which
// is how the registry records it; anything else is not run as SQL.
var quotedTable = regexp.MustCompile(`^"(?:[^"\x00]|"")+"\."(?:[^"\x00]|"")+"$`)

// dropTarget drops one generation's table or index; a missing one is fine.
func (e *Env) dropTarget(ctx context.Context, t registry.Target) error {
	switch t.Store {
	case registry.StorePostgres:
		if !quotedTable.MatchString(t.Name) {
			return fmt.Errorf("drop %s generation %d: registry target %q is not a quoted table name", t.View, t.Generation, t.Name)
		}
		return e.dropTables(ctx, t)
	case registry.StoreElasticsearch:
		if e.esAdmin == nil {
			return fmt.Errorf("drop %s generation %d: index %s: no elasticsearch store configured", t.View, t.Generation, t.Name)
		}
		// Deleting an index takes it out of its aliases: never one readers
		// may be on (a swap that died before the registry recorded it).
		if i := strings.LastIndex(t.Name, "-g"); i > 0 {
			on, err := e.esAdmin.AliasIndices(ctx, t.Name[:i])
			if err != nil {
				return fmt.Errorf("drop %s generation %d: %w", t.View, t.Generation, err)
			}
			if slices.Contains(on, t.Name) {
				return fmt.Errorf("drop %s generation %d: index %s is behind alias %s: swap it back first", t.View, t.Generation, t.Name, t.Name[:i])
			}
		}
		if err := e.esAdmin.DeleteIndex(ctx, t.Name); err != nil {
			return fmt.Errorf("drop %s generation %d: %w", t.View, t.Generation, err)
		}
	}
	return nil
}
