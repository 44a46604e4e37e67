// Package stack wires a configuration to running parts: the query
// PostgreSQL pool, the sinks of every store and the engine. The CLI and the
// end-to-end tests build projector the same way through it.
package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/internal/redisconn"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks/elasticsearch"
	"github.com/projectorhq/projector/sinks/postgres"
	"github.com/projectorhq/projector/sinks/redis"
)

// Stack is everything `run` and `demo` wire together.
type Stack struct {
	Config *config.Config
	Plan   *projections.Plan
	Pool   *pgxpool.Pool
	// Redis is the client made at start, nil without a Redis store. Made
	// while Redis did not say whether it is a cluster node, it is a
	// single-node one, which the Redis sink and probes replace by a
	// cluster client if Redis says it is a cluster node (see pendingRedis).
	Redis    goredis.UniversalClient
	Engine   *projector.Engine
	Registry *prometheus.Registry
	log      *slog.Logger
	closers  []func()
	probes   []probe // see WatchStores
	esSetUp  *setUpFirst
	esGens   map[string]int // the generation of each view esSetUp sets up
	// leftStale is what this start leaves stale, by view (see StampStale).
	leftStale map[string]staleness
}

// ElasticsearchSetUp is what must run before a write to generation gen of
// view in Elasticsearch: the setup Wire put off because the cluster did
// not answer at start, when that is the generation it sets up (nil
// otherwise). Routes built after Wire (the rebuild watcher's) call it as
// Wire's own route does, so that no write makes Elasticsearch create the
// index with guessed mappings and no alias; a generation a rebuild made
// since was set up by the rebuild, and one it replaced must not be made
// again.
func (s *Stack) ElasticsearchSetUp(view string, gen int) func(context.Context) error {
	if s.esSetUp == nil || s.esGens[view] != gen {
		return nil
	}
	return s.esSetUp.ensure
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
	s := &Stack{Config: cfg, Plan: plan, log: log, Registry: NewRegistry()}
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()
	for _, d := range cfg.DisabledSinks() {
		log.Info("sink disabled: its store has no URL", "sink", d)
	}

	pcfg, err := PoolConfig(cfg.Stores.Postgres.URL)
	if err != nil {
		return nil, configErr(fmt.Errorf("stores.postgres.url: %w", err))
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s.Pool = pool
	s.closers = append(s.closers, pool.Close)
	if err := pool.Ping(ctx); err != nil {
		if RefusedPostgres(err) {
			// As Redis's credentials: a setting no retry fixes.
			return nil, configErr(fmt.Errorf("stores.postgres.url: %w", err))
		}
		return nil, fmt.Errorf("postgres: %w", err)
	}

	// Readers may be on another generation than the first: after a rebuild.
	// Migrate points them at the generation the registry serves, which no
	// swap may change meanwhile: a swap committing in between would have
	// them pointed back at the generation it replaced.
	reg := registry.New(pool, cfg.Stores.Postgres.Schema)
	var served registry.Snapshot
	var recorded map[string]registry.Definition
	var routes []projector.Route
	var pgSink *postgres.Sink
	var pending postgres.PendingIndexes
	err = registry.WithServed(ctx, pool, cfg.Stores.Postgres.Schema, func(snap registry.Snapshot) error {
		served = snap
		// What the registry records as deployed (it is migrated now): a
		// view's table or index gone since is not created again, empty,
		// by this start (see lost.go).
		var err error
		if recorded, err = reg.Definitions(ctx); err != nil {
			return err
		}
		pgSink, pending, err = wirePostgres(ctx, pool, plan, snap, recorded)
		return err
	})
	if err != nil {
		return nil, err
	}
	if pgSink != nil {
		warnAddedOnline(log, pgSink)
		// Only now that WithServed's transaction is over: a concurrent
		// index build waits for it.
		if err := pgSink.BuildIndexes(ctx, pending); err != nil {
			return nil, fmt.Errorf("postgres sink: %w", err)
		}
		routes = append(routes, projector.Route{Sink: pgSink, Views: viewNames(PostgresViews(plan), func(v postgres.View) string { return v.Name })})
	}
	// The query PostgreSQL holds the state: it is "state" in /readyz, and
	// the postgres sink too when there is one.
	s.probes = append(s.probes, postgresProbe(pool, "state"))
	if pgSink != nil {
		s.probes = append(s.probes, postgresSinkProbe(pool, PostgresViews(plan)))
	}
	if err := checkRedisIndexes(plan); err != nil {
		return nil, configErr(err)
	}
	// Set when Redis did not say at start whether it is a cluster node:
	// the sink and the probes then use the client of the kind it says
	// once it answers.
	var lateRedis *pendingRedis
	if views := RedisViews(plan); len(views) > 0 && cfg.Stores.Redis.URL != "" {
		rdb, known, err := OpenRedis(ctx, cfg.Stores.Redis.URL, redisconn.Tuning{})
		if err != nil {
			return nil, err
		}
		s.Redis = rdb
		sink, err := redis.New(s.Redis, views, redis.Options{})
		if err != nil {
			_ = rdb.Close()
			// New only checks the views: it does not contact Redis.
			return nil, configErr(fmt.Errorf("redis sink: %w", err))
		}
		var route projector.Sink = sink
		var down error
		ping := func(ctx context.Context) error { return redisconn.Ping(ctx, rdb) }
		if known {
			s.closers = append(s.closers, func() { _ = rdb.Close() })
			down, err = checkRedis(ctx, sink, log)
		} else {
			client := redisconn.NewDeferred(cfg.Stores.Redis.URL, redisconn.Tuning{}, rdb, false)
			s.closers = append(s.closers, func() { _ = client.Close() })
			lateRedis = &pendingRedis{client: client, views: views, name: sink.Name(), log: log}
			route = lateRedis
			ping = lateRedis.guard(func(c goredis.UniversalClient) func(context.Context) error {
				return func(ctx context.Context) error { return redisconn.Ping(ctx, c) }
			})
			// Redis may answer by now: then it is checked as at any start.
			down, err = lateRedis.start(ctx)
		}
		if err != nil {
			return nil, err
		}
		s.probes = append(s.probes, probe{components: []string{registry.StoreRedis}, down: down, ping: ping})
		routes = append(routes, projector.Route{Sink: route, Views: viewNames(views, func(v redis.View) string { return v.Name })})
	}
	var aliased []string // views whose Elasticsearch alias is on their index
	if views := ElasticsearchViews(plan); len(views) > 0 && cfg.Stores.Elasticsearch.URL != "" {
		servedIndices(views, served, log)
		sink, err := newElasticsearch(cfg.Stores.Elasticsearch, views)
		if err != nil {
			return nil, err
		}
		start := esStart{sink: sink, views: views, recorded: recorded}
		var route projector.Sink = sink
		var down error
		// Each step within probeTimeout, as every probe: a hung
		// Elasticsearch must not hold the start.
		aliased, err = start.setUp(ctx, served, probeTimeout)
		switch {
		case err == nil:
		case errors.Is(err, elasticsearch.ErrForeignTemplate):
			return nil, configErr(fmt.Errorf("elasticsearch sink: %w", err))
		case ctx.Err() != nil || !esOutage(err): // stopped, or refused
			return nil, fmt.Errorf("elasticsearch sink: %w", err)
		default:
			// An outage, as with Redis: the daemon starts, and the
			// checks and setup run before the sink's first write,
			// retried as writes are.
			log.Warn("elasticsearch does not answer at start; its checks, templates and indices are put before its first write", "err", err)
			// Its aliases are noted once set up (see lost.go).
			first := &setUpFirst{Sink: sink, start: start, served: reg.Snapshot, note: reg.NoteAliased}
			route, down, aliased, s.esSetUp = first, err, nil, first
			s.esGens = map[string]int{}
			for _, v := range views {
				s.esGens[v.Name] = v.Generation
			}
		}
		esProbe := elasticsearchProbe(sink, views, down)
		if s.esSetUp != nil {
			esProbe = s.esSetUp.guard(esProbe)
		}
		s.probes = append(s.probes, esProbe)
		routes = append(routes, projector.Route{Sink: route, Views: viewNames(views, func(v elasticsearch.View) string { return v.Name })})
	}

	schemas, err := NewSchemaRegistry(cfg.Kafka.SchemaRegistry)
	if err != nil {
		return nil, configErr(err) // it only reads the configuration and its files
	}
	// A rebuild purges the keys of a view's old Redis key template through
	// the revisions, deleted documents' included: those stay until then.
	// Without Redis no rebuild purges anything, and nothing needs them.
	var keepRevisions func(context.Context, string) (bool, error)
	if s.Redis != nil {
		current := map[string]string{} // view → its Redis key template
		for _, v := range RedisViews(plan) {
			current[v.Name] = v.Key
		}
		keepRevisions = func(ctx context.Context, view string) (bool, error) {
			templates, err := reg.RedisTemplates(ctx, view)
			return slices.ContainsFunc(templates, func(t string) bool { return t != current[view] }), err
		}
	}
	eng, err := projector.New(projector.Options{
		Schemas:       schemas,
		Plan:          plan,
		Pool:          pool,
		Schema:        cfg.Stores.Postgres.Schema,
		Sinks:         routes,
		Logger:        log,
		Metrics:       projector.NewMetrics(s.Registry),
		MaxBackoff:    30 * time.Second,
		KeepRevisions: keepRevisions,
		// A batch of changes to root rows computes its docs in one
		// transaction; a fan-out beyond it goes a batch's worth at a time.
		ChunkDocs: cfg.Kafka.BatchSize,
	})
	if err != nil {
		return nil, err
	}
	if err := eng.Migrate(ctx); err != nil {
		return nil, err
	}
	// Last: a first deployment's definitions are recorded only once its
	// tables are in place.
	if s.leftStale, err = checkDefinitions(ctx, reg, cfg, plan, log); err != nil {
		return nil, err
	}
	if err := reg.NoteAliased(ctx, aliased); err != nil {
		return nil, err
	}
	if s.Redis != nil {
		check, set := redisMarkers(plan, recorded)
		for i := range s.probes {
			if slices.Contains(s.probes[i].components, registry.StoreRedis) {
				marked := func(c goredis.UniversalClient) func(context.Context) error {
					return markerPing(c, pool.Config().ConnConfig.Database, cfg.Stores.Postgres.Schema, check, set, reg.NoteRedisMarked)
				}
				if lateRedis != nil {
					s.probes[i].ping = lateRedis.guard(marked)
				} else {
					s.probes[i].ping = marked(s.Redis)
				}
				// Now: a new view's marker is set before its first
				// document, and a lost one makes the start unready.
				pctx, cancel := context.WithTimeout(ctx, probeTimeout) // as every probe: a hung Redis must not hold the start
				err := s.probes[i].ping(pctx)
				cancel()
				if err != nil && s.probes[i].down == nil {
					s.probes[i].down = err
				}
			}
		}
	}
	// A store that did not answer at start is not ready until it does:
	// idle, no write would say so (WatchStores clears it).
	for _, p := range s.probes {
		if p.down != nil {
			for _, c := range p.components {
				eng.ReportHealth(c, p.down)
			}
		}
	}
	s.Engine = eng
	ok = true
	return s, nil
}

// NewRegistry is a process's metrics registry, with the Go runtime's and
// the process's collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return reg
}

// newElasticsearch builds the Elasticsearch sink of views from
// stores.elasticsearch, reading its CA certificate; it does not contact
// the cluster.
func newElasticsearch(es config.ElasticsearchStore, views []elasticsearch.View) (*elasticsearch.Sink, error) {
	ecfg := elasticsearch.Config{URL: es.URL, APIKey: string(es.APIKey), Username: es.Username, Password: string(es.Password),
		RequestTimeout: time.Duration(es.RequestTimeout)}
	if es.CACert != "" {
		pem, err := os.ReadFile(es.CACert)
		if err != nil {
			return nil, configErr(fmt.Errorf("stores.elasticsearch.ca_cert: %w", err))
		}
		ecfg.CACert = pem
	}
	sink, err := elasticsearch.New(ecfg, views)
	if err != nil {
		err = fmt.Errorf("elasticsearch sink: %w", err)
		if errors.Is(err, elasticsearch.ErrConfig) {
			err = configErr(err)
		}
		return nil, err
	}
	return sink, nil
}

// RefusedPostgres is a PostgreSQL that answered and refused the connection
// for the URL's settings: the role or its password (SQLSTATE class 28), or
// the database (3D000).
func RefusedPostgres(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (strings.HasPrefix(pgErr.Code, "28") || pgErr.Code == "3D000")
}

// wirePostgres builds the PostgreSQL sink of the served generations and
// prepares their tables and reader views, leaving the indexes to build on
// existing tables; a nil sink without PostgreSQL views.
func wirePostgres(ctx context.Context, pool *pgxpool.Pool, plan *projections.Plan, served registry.Snapshot,
	recorded map[string]registry.Definition) (*postgres.Sink, postgres.PendingIndexes, error) {
	views := PostgresViews(plan)
	if len(views) == 0 {
		return nil, postgres.PendingIndexes{}, nil
	}
	for i := range views {
		views[i].Generation = served.Serving(views[i].Name, registry.StorePostgres)
		for _, g := range served.Of(views[i].Name) {
			views[i].Registered = append(views[i].Registered, g.Number)
		}
	}
	if err := markLostTables(ctx, pool, views, recorded); err != nil {
		return nil, postgres.PendingIndexes{}, err
	}
	// A column the recorded definition lacks too is a newer file's, added
	// online: kept, where one it declares was removed by this file.
	NoteRecordedColumns(views, recorded)
	sink, err := postgres.New(pool, views)
	if err != nil {
		return nil, postgres.PendingIndexes{}, fmt.Errorf("postgres sink: %w", err)
	}
	pending, err := sink.MigrateTables(ctx)
	if errors.Is(err, postgres.ErrNeedsRebuild) {
		// The file asks for what the served table cannot hold: a
		// configuration the running deployment refuses (exit 2).
		return nil, postgres.PendingIndexes{}, configErr(fmt.Errorf("%w; rebuild the view with this file (projector rebuild VIEW) with the daemons stopped, then start them with it", err))
	}
	if err != nil {
		return nil, postgres.PendingIndexes{}, err
	}
	return sink, pending, nil
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
		rv := redis.View{Name: v.Name, Key: rs.Key, Format: rs.Format, TTL: time.Duration(rs.TTL), Fields: rs.Fields}
		for _, f := range v.Fields {
			if t := f.Type.Name; (t == "json" || t == "jsonb") && !f.Type.Array {
				rv.JSON = append(rv.JSON, f.Name)
			}
		}
		for _, ix := range rs.Indexes {
			rv.Indexes = append(rv.Indexes, redis.Index{Key: ix.Key, Score: ix.Score})
		}
		out = append(out, rv)
	}
	return out
}

// checkRedisIndexes checks that every Redis index scores by a number, a
// date or a timestamp, which the sink can turn into a score for every
// document. Configuration validation cannot: it does not know the types.
func checkRedisIndexes(plan *projections.Plan) error {
	var errs []error
	for _, v := range plan.Views {
		if rs := v.Sinks.Redis; rs != nil {
			for _, ix := range rs.Indexes {
				if err := scoreType(v, ix.Score); err != nil {
					errs = append(errs, fmt.Errorf("%s: view %q: redis index %q: %w", ix.Pos, v.Name, ix.Key, err))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// scoreType checks the type of a score field (a dotted path through
// joined objects).
func scoreType(v *projections.View, path string) error {
	fields := v.Fields
	parts := strings.Split(path, ".")
	for i, name := range parts {
		var f *projections.Field
		for _, c := range fields {
			if c.Name == name {
				f = c
			}
		}
		last := i == len(parts)-1
		object := f != nil && f.Kind == projections.KindOne && f.Column == "" && f.Join != nil
		switch {
		case f == nil:
			return fmt.Errorf("score %s is not a field of the view", path)
		case !last && object:
			fields = f.Join.Fields
			continue
		case !last && !f.Type.Array && (f.Type.Name == "jsonb" || f.Type.Name == "json"):
			return nil // a path into a JSON value: only the values can tell
		case !last:
			return fmt.Errorf("score %s: %s is a %s, not an object", path, name, f.Type)
		case object || f.Kind == projections.KindMany || f.Type.Array:
		default:
			switch f.Type.Name {
			case "smallint", "integer", "bigint", "numeric", "real", "double precision", "date", "timestamp", "timestamptz", "jsonb", "json":
				return nil
			}
		}
		return fmt.Errorf("score %s is a %s; it must be a number, a date or a timestamp (an expr field with a type converts)", path, f.Type)
	}
	return nil
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
		if len(es.Mappings) > 0 {
			ev.Mappings = make(map[string]any, len(es.Mappings))
			for _, m := range es.Mappings {
				// A copy: the sink fills in objects it nests overrides
				// into, and a YAML alias shares one map between keys.
				ev.Mappings[m.Key] = deepCopy(m.Value)
			}
		}
		out = append(out, ev)
	}
	return out
}

// deepCopy copies the maps and lists of a decoded YAML value.
func deepCopy(v map[string]any) map[string]any {
	var cp func(any) any
	cp = func(x any) any {
		switch y := x.(type) {
		case map[string]any:
			out := make(map[string]any, len(y))
			for k, e := range y {
				out[k] = cp(e)
			}
			return out
		case []any:
			out := make([]any, len(y))
			for i, e := range y {
				out[i] = cp(e)
			}
			return out
		}
		return x
	}
	return cp(v).(map[string]any)
}
