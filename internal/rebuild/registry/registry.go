// Package registry keeps the generations of every view, and the running
// daemon instances, in the query PostgreSQL (projector's schema). Every
// change that moves where documents are written bumps one version number and
// NOTIFYs Channel in the same transaction, so a daemon LISTENing learns of it
// at commit; an instance records the version it has applied, which lets the
// rebuild CLI wait until every live instance writes to a new generation.
//
// It depends on pgx only, so that the wiring of the daemon (internal/stack)
// can ask which generation of each view is served without importing the
// rebuild machinery.
package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Channel is the NOTIFY channel of registry changes; the payload is the new
// version.
const Channel = "projector_registry"

// State is where a generation is in its life.
type State string

// States of a generation. Building and Verifying generations receive the
// live changes besides the served one; Active is the one readers see.
const (
	Building  State = "building"
	Verifying State = "verifying"
	Active    State = "active"
	Retired   State = "retired" // was active; each target is dropped after the grace period of the swap that replaced it in its store
	Failed    State = "failed"  // verification refused the swap; kept for inspection
	Aborted   State = "aborted"
)

// Written reports whether live changes go to a generation in this state
// besides the served one.
func (s State) Written() bool { return s == Building || s == Verifying }

// Sources a generation is filled from.
const (
	SourceInitial = "initial" // the generation the daemon created before any rebuild
	SourceState   = "state"
	SourceSource  = "source"
	SourceKafka   = "kafka"
	SourceSignal  = "signal"
)

// Store names, as the sinks name themselves.
const (
	StorePostgres      = "postgres"
	StoreRedis         = "redis"
	StoreElasticsearch = "elasticsearch"
)

// Errors.
var (
	// ErrBusy reports a view that already has a generation being built.
	ErrBusy = errors.New("a rebuild of this view is already under way")
	// ErrConflict reports a state transition from an unexpected state:
	// another process changed the generation meanwhile.
	ErrConflict = errors.New("the generation changed state meanwhile")
	// ErrNotFound reports a generation the registry does not hold.
	ErrNotFound = errors.New("no such generation")
	// ErrTryAgain, wrapped in the error of the fn of a change or of
	// WithServed, has its transaction rolled back and run again after a
	// pause, as a lock not had within lock_timeout does (see
	// WithLockWait): other transactions are in its way for now.
	ErrTryAgain = errors.New("other transactions are in the way")
	// ErrLockWait reports a change given up after its lock wait (see
	// WithLockWait): other transactions stayed in its way.
	ErrLockWait = errors.New("gave up waiting for other transactions")
)

// Generation is one generation of a view.
type Generation struct {
	View   string
	Number int
	State  State
	Source string
	// Stores this generation has targets in (or, for Redis, refills).
	Stores []string
	// Targets names each store's physical target: "schema.table__gN" for
	// PostgreSQL, the index for Elasticsearch. Recorded at creation so that
	// a drop needs no configuration (the view may be gone from it).
	Targets   map[string]string
	DocsTotal int64 // estimate, for progress
	DocsDone  int64
	// Verified is the number of documents the verification found right,
	// Checksum an order-independent hash of those the state gives.
	Verified int64
	Checksum string
	Cursor   string // the fill is complete up to this document key
	Filled   bool
	// Keep is how long the targets this generation replaces stay after its
	// swap (rebuild --keep), and a failed or aborted one's own targets.
	Keep    time.Duration
	Dropped []string // stores whose targets were dropped
	Error   string
	// Signal is what a rebuild --from signal sent to Debezium (its own
	// JSON; nil before the signal went out).
	Signal []byte

	CreatedAt time.Time
	UpdatedAt time.Time
	FilledAt  *time.Time
	SwappedAt *time.Time
	RetiredAt *time.Time
	// DropAfter is when a failed or aborted generation's targets go, and a
	// retired one's last target (nil while it still serves a store).
	DropAfter *time.Time
}

// Has reports whether the generation covers store.
func (g *Generation) Has(store string) bool { return slices.Contains(g.Stores, store) }

// Registry reads and changes the registry tables.
type Registry struct {
	pool     *pgxpool.Pool
	schema   string
	lockWait time.Duration // see WithLockWait
}

// New returns a registry in the given schema ("" is "projector").
func New(pool *pgxpool.Pool, schema string) *Registry {
	if schema == "" {
		schema = "projector"
	}
	return &Registry{pool: pool, schema: schema, lockWait: DefaultLockWait}
}

// Pool is the query PostgreSQL the registry lives in.
func (r *Registry) Pool() *pgxpool.Pool { return r.pool }

// Schema is projector's schema.
func (r *Registry) Schema() string { return r.schema }

func (r *Registry) ident(name string) string { return pgx.Identifier{r.schema, name}.Sanitize() }

// Migrate creates the registry tables. Instances and the CLI call it before
// anything else; it holds the state's migration lock so that it does not
// race with the engine's own migration.
func (r *Registry) Migrate(ctx context.Context) error {
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('projector.migrate'))`); err != nil {
			return err
		}
		stmts := []string{
			`CREATE SCHEMA IF NOT EXISTS ` + pgx.Identifier{r.schema}.Sanitize(),
			`CREATE TABLE IF NOT EXISTS ` + r.ident("registry") + ` (
				id boolean PRIMARY KEY DEFAULT true CHECK (id), version bigint NOT NULL)`,
			`INSERT INTO ` + r.ident("registry") + ` (id, version) VALUES (true, 1) ON CONFLICT DO NOTHING`,
			`CREATE TABLE IF NOT EXISTS ` + r.ident("generations") + ` (
				view text NOT NULL, generation int NOT NULL CHECK (generation > 0),
				state text NOT NULL CHECK (state IN ('building','verifying','active','retired','failed','aborted')),
				source text NOT NULL, stores text[] NOT NULL, targets jsonb NOT NULL DEFAULT '{}',
				docs_total bigint NOT NULL DEFAULT 0, docs_done bigint NOT NULL DEFAULT 0,
				verified bigint NOT NULL DEFAULT 0, checksum text NOT NULL DEFAULT '',
				cursor text NOT NULL DEFAULT '', filled boolean NOT NULL DEFAULT false,
				keep interval NOT NULL DEFAULT '1 hour', dropped text[] NOT NULL DEFAULT '{}',
				error text NOT NULL DEFAULT '',
				created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
				filled_at timestamptz, swapped_at timestamptz, retired_at timestamptz, drop_after timestamptz,
				PRIMARY KEY (view, generation))`,
			// At most one generation of a view is being built, and one is active.
			`CREATE UNIQUE INDEX IF NOT EXISTS generations_one_build ON ` + r.ident("generations") +
				` (view) WHERE state IN ('building','verifying')`,
			`CREATE UNIQUE INDEX IF NOT EXISTS generations_one_active ON ` + r.ident("generations") +
				` (view) WHERE state = 'active'`,
			// Added after the first release: what a rebuild --from signal
			// asked Debezium for, so that --resume waits for the same snapshot.
			`ALTER TABLE ` + r.ident("generations") + ` ADD COLUMN IF NOT EXISTS signal jsonb`,
			// The Redis key templates each view has been written with, and
			// when one was last noted (a rebuild's start, a daemon's
			// heartbeat): a rebuild purges the keys of templates the view
			// no longer has.
			`CREATE TABLE IF NOT EXISTS ` + r.ident("redis_templates") + ` (
				view text NOT NULL, template text NOT NULL, noted_at timestamptz NOT NULL DEFAULT now(),
				PRIMARY KEY (view, template))`,
			`CREATE TABLE IF NOT EXISTS ` + r.ident("instances") + ` (
				id text PRIMARY KEY, host text NOT NULL, pid int NOT NULL,
				started_at timestamptz NOT NULL DEFAULT now(), heartbeat_at timestamptz NOT NULL DEFAULT now(),
				applied_version bigint NOT NULL DEFAULT 0)`,
			// Added later: the Redis key template of each view (view →
			// template) the instance writes with, recorded by every
			// heartbeat, so that a rebuild knows which old templates live
			// instances still write.
			`ALTER TABLE ` + r.ident("instances") + ` ADD COLUMN IF NOT EXISTS redis_templates jsonb NOT NULL DEFAULT '{}'`,
			// Added later: the fingerprint of each view's definition an
			// instance computes documents by.
			`ALTER TABLE ` + r.ident("instances") + ` ADD COLUMN IF NOT EXISTS definitions jsonb NOT NULL DEFAULT '{}'`,
			// Added later: the definition each view's served documents
			// were computed with (see Definition).
			r.definitionsTable(),
			// Added later: see Definition.Aliased and RedisMarked. The rows
			// of earlier versions are unknown (null), read as noted: those
			// versions looked for a lost alias or marker at every start, and
			// a loss at the upgrade must not go unnoticed. Rows from now on
			// start false.
			`ALTER TABLE ` + r.ident("definitions") + ` ADD COLUMN IF NOT EXISTS es_aliased boolean`,
			`ALTER TABLE ` + r.ident("definitions") + ` ALTER COLUMN es_aliased SET DEFAULT false`,
			`ALTER TABLE ` + r.ident("definitions") + ` ADD COLUMN IF NOT EXISTS redis_marked boolean`,
			`ALTER TABLE ` + r.ident("definitions") + ` ALTER COLUMN redis_marked SET DEFAULT false`,
		}
		for _, q := range stmts {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("registry: migrate: %w", err)
	}
	return nil
}

// Exists reports whether the registry's tables exist: Migrate ran, by a
// daemon or a rebuild. It creates nothing.
func (r *Registry) Exists(ctx context.Context) (bool, error) {
	var ok bool
	if err := r.pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, r.ident("generations")).Scan(&ok); err != nil {
		return false, fmt.Errorf("registry: look for its tables: %w", err)
	}
	return ok, nil
}

// bump increments the version and notifies Channel at commit.
func (r *Registry) bump(ctx context.Context, tx pgx.Tx) (int64, error) {
	var v int64
	if err := tx.QueryRow(ctx, `UPDATE `+r.ident("registry")+` SET version = version + 1 RETURNING version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("registry: bump version: %w", err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, Channel, fmt.Sprint(v)); err != nil {
		return 0, fmt.Errorf("registry: notify: %w", err)
	}
	return v, nil
}

// change runs fn in a transaction that bumps the version, and returns the
// new version. The bump comes first: it locks the registry row before fn
// takes any other lock, the order WithServed takes them in too. The whole
// transaction is tried again while fn fails for a lock not had in time
// (see WithLockWait).
func (r *Registry) change(ctx context.Context, fn func(tx pgx.Tx) error) (int64, error) {
	var v int64
	err := r.retryBusy(ctx, func() error {
		return pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
			var err error
			if v, err = r.bump(ctx, tx); err != nil {
				return err
			}
			return fn(tx)
		})
	})
	return v, err
}

const genColumns = `view, generation, state, source, stores, targets, docs_total, docs_done, verified, checksum,
	cursor, filled, keep, dropped, error, created_at, updated_at, filled_at, swapped_at, retired_at, drop_after, signal`

func scanGeneration(row pgx.CollectableRow) (Generation, error) {
	var g Generation
	var state string
	err := row.Scan(&g.View, &g.Number, &state, &g.Source, &g.Stores, &g.Targets, &g.DocsTotal, &g.DocsDone,
		&g.Verified, &g.Checksum, &g.Cursor, &g.Filled, &g.Keep, &g.Dropped, &g.Error,
		&g.CreatedAt, &g.UpdatedAt, &g.FilledAt, &g.SwappedAt, &g.RetiredAt, &g.DropAfter, &g.Signal)
	g.State = State(state)
	return g, err
}

// Snapshot is the registry at one version.
type Snapshot struct {
	Version     int64
	Generations []Generation // by view, then number
}

// Snapshot reads the version and every generation in one transaction.
func (r *Registry) Snapshot(ctx context.Context) (Snapshot, error) {
	var s Snapshot
	err := pgx.BeginTxFunc(ctx, r.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		s, err = r.read(ctx, tx)
		return err
	})
	if err != nil {
		return Snapshot{}, fmt.Errorf("registry: read: %w", err)
	}
	return s, nil
}

// read reads the version and every generation in tx, which must see one
// state of both (repeatable read, or the registry row locked).
func (r *Registry) read(ctx context.Context, tx pgx.Tx) (Snapshot, error) {
	var s Snapshot
	if err := tx.QueryRow(ctx, `SELECT version FROM `+r.ident("registry")).Scan(&s.Version); err != nil {
		return Snapshot{}, err
	}
	rows, err := tx.Query(ctx, `SELECT `+genColumns+` FROM `+r.ident("generations")+` ORDER BY view, generation`)
	if err != nil {
		return Snapshot{}, err
	}
	s.Generations, err = pgx.CollectRows(rows, scanGeneration)
	return s, err
}

// WithServed runs fn in a transaction that holds the registry still: no
// change (no swap) commits before fn's transaction does. Readers fn points
// at the generations snap serves therefore stay there until a later swap,
// which points them itself; without it a daemon could point them back at
// a generation a swap had just replaced. Like a change, it is tried again
// while fn fails for a lock not had in time (see WithLockWait).
func (r *Registry) WithServed(ctx context.Context, fn func(tx pgx.Tx, snap Snapshot) error) error {
	var inner bool
	err := r.retryBusy(ctx, func() error {
		inner = false
		return pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT version FROM `+r.ident("registry")+` FOR SHARE`); err != nil {
				return err
			}
			snap, err := r.read(ctx, tx)
			if err != nil {
				return err
			}
			inner = true
			return fn(tx, snap)
		})
	})
	if err != nil && !inner {
		return fmt.Errorf("registry: read: %w", err)
	}
	return err
}

// Of returns the generations of a view, oldest first.
func (s Snapshot) Of(view string) []Generation {
	var out []Generation
	for _, g := range s.Generations {
		if g.View == view {
			out = append(out, g)
		}
	}
	return out
}

// Get returns one generation.
func (s Snapshot) Get(view string, number int) (Generation, bool) {
	for _, g := range s.Generations {
		if g.View == view && g.Number == number {
			return g, true
		}
	}
	return Generation{}, false
}

// Building returns the generation of view being built or verified.
func (s Snapshot) Building(view string) (Generation, bool) {
	for _, g := range s.Generations {
		if g.View == view && g.State.Written() {
			return g, true
		}
	}
	return Generation{}, false
}

// Serving returns the generation whose target in store readers see: the
// newest swapped-in generation covering that store, or 1 (the generation
// the daemon creates) for a view never rebuilt in that store.
func (s Snapshot) Serving(view, store string) int {
	n := 1
	for _, g := range s.Generations {
		if g.View == view && g.SwappedAt != nil && g.Has(store) && g.Number > n {
			n = g.Number
		}
	}
	return n
}

// Next is the number the next generation of view gets.
func (s Snapshot) Next(view string) int {
	n := 1
	for _, g := range s.Generations {
		if g.View == view && g.Number > n {
			n = g.Number
		}
	}
	return n + 1
}

// WithServed runs fn with the generation of each view and store readers
// see, holding the registry still (see Registry.WithServed) until fn
// returns: the daemon's wiring builds its sinks for them and points readers
// at them. It creates the registry tables when they are missing.
func WithServed(ctx context.Context, pool *pgxpool.Pool, schema string, fn func(Snapshot) error) error {
	r := New(pool, schema)
	if err := r.Migrate(ctx); err != nil {
		return err
	}
	return r.WithServed(ctx, func(_ pgx.Tx, snap Snapshot) error { return fn(snap) })
}

// Register records a new generation in state Building (or g.State), and,
// when the view has no generation yet, the generation served so far as
// initial (number 1, active, with its stores and targets). Live instances
// start writing to the new generation once they applied the returned
// version.
func (r *Registry) Register(ctx context.Context, g Generation, initial Generation) (int64, error) {
	if g.State == "" {
		g.State = Building
	}
	return r.change(ctx, func(tx pgx.Tx) error {
		// Never swapped in: it served from the first deployment (Serving
		// counts it without a swap time).
		if _, err := tx.Exec(ctx, `INSERT INTO `+r.ident("generations")+`
			(view, generation, state, source, stores, targets, keep)
			SELECT $1, 1, 'active', $2, $3, $4, $5
			WHERE NOT EXISTS (SELECT 1 FROM `+r.ident("generations")+` WHERE view = $1)`,
			g.View, SourceInitial, initial.Stores, initial.Targets, g.Keep); err != nil {
			return fmt.Errorf("registry: record the initial generation of %s: %w", g.View, err)
		}
		if err := r.adopt(ctx, tx, g.View, initial); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO `+r.ident("generations")+`
			(view, generation, state, source, stores, targets, docs_total, keep)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			g.View, g.Number, string(g.State), g.Source, g.Stores, g.Targets, g.DocsTotal, g.Keep)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23505" {
			return fmt.Errorf("registry: view %s generation %d: %w", g.View, g.Number, ErrBusy)
		}
		if err != nil {
			return fmt.Errorf("registry: register view %s generation %d: %w", g.View, g.Number, err)
		}
		return nil
	})
}

// AdoptStores records in a view's generation 1 the stores of initial (its
// stores and their generation-1 targets) that no generation of the view
// names: a store added to the view after its initial generation was
// recorded serves from generation 1 (Serving's default) with no record
// saying so. Recorded, `generations` shows it, and its target is replaced,
// kept and dropped as the others are. A view with no generations is left
// alone (its first rebuild records them all).
func (r *Registry) AdoptStores(ctx context.Context, view string, initial Generation) error {
	return pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		adopted, err := r.adoptRows(ctx, tx, view, initial)
		if err != nil || !adopted {
			return err // unchanged: no new version for every start
		}
		_, err = r.bump(ctx, tx)
		return err
	})
}

func (r *Registry) adopt(ctx context.Context, tx pgx.Tx, view string, initial Generation) error {
	_, err := r.adoptRows(ctx, tx, view, initial)
	return err
}

func (r *Registry) adoptRows(ctx context.Context, tx pgx.Tx, view string, initial Generation) (bool, error) {
	gens := r.ident("generations")
	tag, err := tx.Exec(ctx, `WITH missing AS (
			SELECT s FROM unnest($2::text[]) AS s
			WHERE NOT EXISTS (SELECT 1 FROM `+gens+` AS m WHERE m.view = $1 AND s = ANY(m.stores)))
		UPDATE `+gens+` SET stores = stores || ARRAY(SELECT s FROM missing),
			targets = targets || coalesce((SELECT jsonb_object_agg(s, $3::jsonb -> s) FROM missing WHERE $3::jsonb ? s), '{}'),
			drop_after = CASE WHEN state = 'retired' THEN NULL ELSE drop_after END, updated_at = now()
		WHERE view = $1 AND generation = 1 AND EXISTS (SELECT 1 FROM missing)`,
		view, initial.Stores, initial.Targets)
	if err != nil {
		return false, fmt.Errorf("registry: record the stores added to %s since its initial generation: %w", view, err)
	}
	return tag.RowsAffected() > 0, nil
}

// Progress records how far the fill got. It does not bump the version:
// nothing changes for the writers; daemons read it for their metrics.
func (r *Registry) Progress(ctx context.Context, view string, number int, cursor string, done, total int64, filled bool) error {
	_, err := r.pool.Exec(ctx, `UPDATE `+r.ident("generations")+` SET cursor = $3, docs_done = $4::bigint,
		docs_total = greatest($5::bigint, $4::bigint), filled = $6, filled_at = CASE WHEN $6 THEN now() END, updated_at = now()
		WHERE view = $1 AND generation = $2`, view, number, cursor, done, total, filled)
	if err != nil {
		return fmt.Errorf("registry: record progress of %s generation %d: %w", view, number, err)
	}
	return nil
}

// SetSignal records what a rebuild --from signal sent. Like Progress it
// does not bump the version.
func (r *Registry) SetSignal(ctx context.Context, view string, number int, signal []byte) error {
	_, err := r.pool.Exec(ctx, `UPDATE `+r.ident("generations")+` SET signal = $3, updated_at = now()
		WHERE view = $1 AND generation = $2`, view, number, signal)
	if err != nil {
		return fmt.Errorf("registry: record the signal of %s generation %d: %w", view, number, err)
	}
	return nil
}

// NoteRedisTemplates records the Redis key template of each view (view →
// template) as one the view's keys are written with, noted now (by the
// database clock): a template noted after a purge began stays recorded
// (see ForgetRedisTemplate).
func (r *Registry) NoteRedisTemplates(ctx context.Context, templates map[string]string) error {
	if len(templates) == 0 {
		return nil
	}
	views := make([]string, 0, len(templates))
	tmpls := make([]string, 0, len(templates))
	for v, t := range templates {
		views, tmpls = append(views, v), append(tmpls, t)
	}
	_, err := r.pool.Exec(ctx, `INSERT INTO `+r.ident("redis_templates")+` (view, template)
		SELECT * FROM unnest($1::text[], $2::text[])
		ON CONFLICT (view, template) DO UPDATE SET noted_at = now()`, views, tmpls)
	if err != nil {
		return fmt.Errorf("registry: note redis key templates: %w", err)
	}
	return nil
}

// RedisTemplates lists the key templates a view's Redis keys were written
// with, least recently noted first.
func (r *Registry) RedisTemplates(ctx context.Context, view string) ([]string, error) {
	rows, err := r.pool.Query(ctx, `SELECT template FROM `+r.ident("redis_templates")+` WHERE view = $1 ORDER BY noted_at, template`, view)
	if err != nil {
		return nil, fmt.Errorf("registry: redis key templates of %s: %w", view, err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// RedisTemplateInUse reports whether a live instance (heartbeat younger
// than ttl) writes view's keys with template, and the database time it
// looked: a purge of the template's keys begins after this call, and
// passes that time to ForgetRedisTemplate.
func (r *Registry) RedisTemplateInUse(ctx context.Context, view, template string, ttl time.Duration) (inUse bool, at time.Time, err error) {
	err = r.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+r.ident("instances")+`
		WHERE heartbeat_at >= now() - $3::interval AND redis_templates->>$1 = $2), now()`, view, template, ttl).Scan(&inUse, &at)
	if err != nil {
		return false, time.Time{}, fmt.Errorf("registry: is redis key template of %s in use: %w", view, err)
	}
	return inUse, at, nil
}

// ForgetRedisTemplate drops a template whose keys were purged, unless it
// was noted at or after since (when the purge began): whoever noted it may
// have written a key the purge had already passed, and a later rebuild
// purges it again. It reports whether the template was dropped. A note
// committed concurrently either comes first and keeps the template, or
// comes after and records it again.
func (r *Registry) ForgetRedisTemplate(ctx context.Context, view, template string, since time.Time) (bool, error) {
	tag, err := r.pool.Exec(ctx, `DELETE FROM `+r.ident("redis_templates")+` WHERE view = $1 AND template = $2 AND noted_at < $3`,
		view, template, since)
	if err != nil {
		return false, fmt.Errorf("registry: forget redis key template of %s: %w", view, err)
	}
	return tag.RowsAffected() > 0, nil
}
