package rebuild

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
	"github.com/projectorhq/projector/sinks/postgres"
)

// WatchOptions tune the daemon side; the zero value is usable.
type WatchOptions struct {
	// ID names this instance in the registry; default host-pid-random.
	ID string
	// Heartbeat is how often the instance records that it is alive and
	// reads the registry even without a notification (default 2s).
	Heartbeat time.Duration
	// DropEvery is how often expired generations are dropped (default 1m).
	DropEvery time.Duration
}

// InstanceTTL is how long an instance counts as alive after its last
// heartbeat: a rebuild waits for the instances heartbeating within it.
const InstanceTTL = 15 * time.Second

// Watcher routes the daemon's live changes to the generations the registry
// says: the served one of each view and store, plus the one being built;
// and it keeps PostgreSQL readers on the served generation.
type Watcher struct {
	env     *Env
	opts    WatchOptions
	log     *slog.Logger
	base    []projector.Route // the wired routes of other stores (Redis)
	host    string
	pid     int
	metrics *collector
	// templates is the Redis key template of each view (view →
	// template), as the wired sink writes them: every heartbeat records
	// them.
	templates map[string]string
	// definitions is the fingerprint of the documents each view's
	// definition writes (view → definition.DocumentsFingerprint), sent with
	// every heartbeat: a rebuild of a view refuses to run while an
	// instance writes it by another definition.
	definitions map[string]string

	mu     sync.Mutex
	guards map[targetKey]*guard
	snap   registry.Snapshot
	// routedTo is the registry version the routes follow; routed the one
	// applied, reported by heartbeats: the same once no target the routes
	// left has a write or purge in flight (retired).
	routedTo, routed int64
	retired          []*guard

	// pointed is, per view, the generation this instance last saw
	// PostgreSQL readers pointed at; only sync uses it.
	pointed map[string]int

	cancel context.CancelFunc
	done   chan struct{}
}

// Watch applies the registry to the stack's engine before it returns, so
// that the engine's first batch already writes where the registry says, and
// then follows it in the background until Close. It registers the rebuild
// metrics on the stack's registry.
//
// It must be called before the consumer starts: a rebuild waits only for
// the instances the registry knows, and an instance is known from its first
// heartbeat, which Watch sends before it reads the registry.
func Watch(ctx context.Context, st *stack.Stack, opts WatchOptions, log *slog.Logger) (*Watcher, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 2 * time.Second
	}
	if opts.DropEvery <= 0 {
		opts.DropEvery = time.Minute
	}
	host, _ := os.Hostname()
	if opts.ID == "" {
		var b [4]byte
		_, _ = rand.Read(b[:])
		opts.ID = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	env, err := FromStack(ctx, st, log)
	if err != nil {
		return nil, err
	}
	w := &Watcher{env: env, opts: opts, log: log, host: host, pid: os.Getpid(), guards: map[targetKey]*guard{},
		pointed: map[string]int{}, templates: env.redisTemplates(), definitions: fingerprints(env), done: make(chan struct{})}
	for _, r := range st.Engine.Routes() {
		if n := r.Sink.Name(); n != registry.StorePostgres && n != registry.StoreElasticsearch {
			w.base = append(w.base, r)
		}
	}
	// The heartbeat records the instance's Redis key templates, before
	// its first write: every heartbeat does again (see sync).
	if err := env.Registry.Heartbeat(ctx, opts.ID, host, w.pid, 0, w.templates, w.definitions); err != nil {
		_ = env.Registry.Deregister(context.WithoutCancel(ctx), opts.ID)
		return nil, err
	}
	// Known to be running now, it records again what its start left
	// stale: a swap in between would have cleared that unseen.
	if err := st.StampStale(ctx, env.Registry); err != nil {
		_ = env.Registry.Deregister(context.WithoutCancel(ctx), opts.ID)
		return nil, fmt.Errorf("rebuild watcher: %w", err)
	}
	for _, v := range env.Plan.Views {
		stores := env.Stores(v.Name)
		if err := env.Registry.AdoptStores(ctx, v.Name, registry.Generation{Stores: stores, Targets: env.targets(v.Name, 1, stores)}); err != nil {
			_ = env.Registry.Deregister(context.WithoutCancel(ctx), opts.ID)
			return nil, fmt.Errorf("rebuild watcher: %w", err)
		}
	}
	if err := w.sync(ctx, true); err != nil {
		_ = env.Registry.Deregister(context.WithoutCancel(ctx), opts.ID)
		return nil, fmt.Errorf("rebuild watcher: %w", err)
	}
	w.metrics = newCollector(w)
	if err := st.Registry.Register(w.metrics); err != nil {
		_ = env.Registry.Deregister(context.WithoutCancel(ctx), opts.ID)
		return nil, fmt.Errorf("rebuild metrics: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w.cancel = cancel
	go w.run(runCtx)
	return w, nil
}

// ID is the instance's id in the registry.
func (w *Watcher) ID() string { return w.opts.ID }

// Close stops following the registry and removes the instance from it, so
// that no rebuild waits for it.
func (w *Watcher) Close() {
	w.cancel()
	<-w.done
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.env.Registry.Deregister(ctx, w.opts.ID); err != nil {
		w.log.Warn("rebuild watcher: deregister", "err", err)
	}
}

// Applied is the registry version the engine's routes follow.
func (w *Watcher) Applied() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.routed
}

func (w *Watcher) run(ctx context.Context) {
	defer close(w.done)
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			_ = conn.Close(context.Background())
		}
	}()
	lastDrop := time.Time{}
	failing := false
	for ctx.Err() == nil {
		if conn == nil {
			c, err := w.listen(ctx)
			if err != nil && !failing && ctx.Err() == nil {
				w.log.Warn("rebuild watcher: cannot listen for registry changes; polling", "err", err)
			}
			conn, failing = c, err != nil
		}
		// A target the routes left with a write or purge in flight holds
		// the version applied back (see sync): looked at again soon.
		wait := w.opts.Heartbeat
		w.mu.Lock()
		if len(w.retired) > 0 {
			wait = min(wait, 50*time.Millisecond)
		}
		w.mu.Unlock()
		if conn != nil {
			wctx, cancel := context.WithTimeout(ctx, wait)
			_, err := conn.WaitForNotification(wctx)
			cancel()
			if err != nil && ctx.Err() == nil && !pgconn.Timeout(err) {
				w.log.Warn("rebuild watcher: registry notifications lost; reconnecting", "err", err)
				_ = conn.Close(context.Background())
				conn = nil
			}
		} else {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
		if ctx.Err() != nil {
			return
		}
		if err := w.sync(ctx, false); err != nil && ctx.Err() == nil {
			w.log.Warn("rebuild watcher: read registry", "err", err)
		}
		if time.Since(lastDrop) >= w.opts.DropEvery {
			lastDrop = time.Now()
			if err := w.dropExpired(ctx); err != nil && ctx.Err() == nil {
				w.log.Warn("rebuild watcher: drop expired generations", "err", err)
			}
		}
	}
}

// listen opens the dedicated connection that receives notifications.
func (w *Watcher) listen(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, w.env.Pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{registry.Channel}.Sanitize()); err != nil {
		_ = conn.Close(context.Background())
		return nil, err
	}
	return conn, nil
}

// sync reads the registry and, when the version moved (or force), points
// readers at the served generations and re-routes the engine; then it
// records the heartbeat with the version applied. When readers cannot be
// pointed or a target cannot be written, the routes stay as they were and
// the version applied does not move: a rebuild waits for this instance (and
// says so when its wait times out) rather than fill a generation it does
// not write, or drop one readers may be on. The heartbeat records again the
// Redis key templates the instance writes with: a rebuild that purged the
// keys of one of them keeps it recorded while the instance lives.
func (w *Watcher) sync(ctx context.Context, force bool) error {
	snap, err := w.env.Registry.Snapshot(ctx)
	if err != nil {
		return err
	}
	w.mu.Lock()
	moved := force || snap.Version != w.routedTo
	w.mu.Unlock()
	var rerr error
	if moved {
		rerr = w.followReaders(ctx, snap, force)
	}
	w.mu.Lock()
	w.snap = snap
	if moved && rerr == nil {
		var retired []*guard
		if retired, rerr = w.route(snap); rerr == nil {
			w.routedTo = snap.Version
			w.retired = append(w.retired, retired...)
		}
	}
	// Applied only once no write or purge is left in flight on a target
	// no longer wanted: a drop waits for the version, and an Elasticsearch
	// request still in transit would make the dropped index again. Looked
	// at without waiting: the heartbeat must go on meanwhile, or the
	// instance would stop counting as live and a rebuild drop under it.
	w.retired = slices.DeleteFunc(w.retired, (*guard).idle)
	if len(w.retired) == 0 {
		w.routed = w.routedTo
	}
	applied := w.routed
	w.mu.Unlock()
	if err := w.env.Registry.Heartbeat(ctx, w.opts.ID, w.host, w.pid, applied, w.templates, w.definitions); err != nil {
		return errors.Join(rerr, err)
	}
	return rerr
}

// followReaders points the PostgreSQL readers of each view whose served
// generation changed (every view, with force) at the served generation. A
// swap moves them itself, in the transaction that records it; this puts
// back readers that something else moved: a daemon starting while the swap
// committed (stack.Wire points readers at what it read), or a swap that
// died half-way under an earlier version.
func (w *Watcher) followReaders(ctx context.Context, snap registry.Snapshot, force bool) error {
	var errs []error
	for _, v := range w.env.Plan.Views {
		if !slices.Contains(w.env.Stores(v.Name), registry.StorePostgres) {
			continue
		}
		if seen, ok := w.pointed[v.Name]; ok && !force && seen == snap.Serving(v.Name, registry.StorePostgres) {
			continue
		}
		gen, err := w.env.pointReaders(ctx, v.Name)
		if errors.Is(err, postgres.ErrNoGeneration) {
			// The served table was lost (dropped behind projector's back):
			// its readers stay gone until a rebuild, and the postgres probe
			// says so (stack/lost.go).
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		w.pointed[v.Name] = gen
	}
	return errors.Join(errs...)
}

// wanted lists the targets live changes go to: per view and store with
// generations, the served one and the one being built.
func (e *Env) wanted(snap registry.Snapshot) map[targetKey]bool {
	want := map[targetKey]bool{}
	for _, v := range e.Plan.Views {
		for _, store := range e.Stores(v.Name) {
			if store == registry.StoreRedis {
				continue // one set of live keys: the wired route writes them
			}
			want[e.recordedTarget(snap, v.Name, store, snap.Serving(v.Name, store))] = true
			if b, ok := snap.Building(v.Name); ok && b.Has(store) {
				want[e.recordedTarget(snap, v.Name, store, b.Number)] = true
			}
		}
	}
	return want
}

// recordedTarget is the target of a view's generation in store, with the
// index the registry recorded for it in Elasticsearch when this file names
// another: the rebuild that created it named it from its own file (README:
// another index alone does not stop a rebuild). Writing the index this
// file names would fill one no alias points to and no registry row drops,
// and leave the generation readers get without the live changes. The same
// name is left out, so that recording it (a first rebuild records
// generation 1) does not replace a guard that may have a purge in flight.
// A PostgreSQL table is this file's: another one stops a rebuild
// (checkInstancesDefinition), and a table renamed since a generation was
// recorded starts empty under the new name (README).
func (e *Env) recordedTarget(snap registry.Snapshot, view, store string, gen int) targetKey {
	k := targetKey{view: view, store: store, gen: gen}
	if store != registry.StoreElasticsearch {
		return k
	}
	if g, ok := snap.Get(view, gen); ok && g.Targets[store] != esIndex(esView(e.Plan, view), gen) {
		k.index = g.Targets[store]
	}
	return k
}

// route replaces the engine's routes with the targets the registry wants.
// A target no longer wanted is marked dead, so that a write still in
// flight with the previous routes drops its docs for it instead of
// retrying against a table that may be dropped; those are returned, for
// the caller to wait until they are idle. Callers hold w.mu.
func (w *Watcher) route(snap registry.Snapshot) (retired []*guard, err error) {
	want := w.env.wanted(snap)
	fresh := map[targetKey]*guard{}
	for k := range want {
		if w.guards[k] != nil {
			continue
		}
		g, err := w.env.newGuard(k)
		if err != nil {
			return nil, fmt.Errorf("view %s: cannot write generation %d to %s: %w", k.view, k.gen, k.store, err)
		}
		fresh[k] = g
	}
	for k, g := range fresh {
		w.guards[k] = g
	}
	for k, g := range w.guards {
		if !want[k] {
			g.retire()
			retired = append(retired, g)
			delete(w.guards, k)
		}
	}
	keys := make([]targetKey, 0, len(w.guards))
	for k := range w.guards {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, targetKey.compare)
	routes := slices.Clone(w.base)
	for _, k := range keys {
		routes = append(routes, projector.Route{Sink: w.guards[k], Views: []string{k.view}})
	}
	w.env.Engine.SetRoutes(routes)
	return retired, nil
}

// dropExpired drops the targets whose grace period is over, once every
// live instance has stopped writing to them.
func (w *Watcher) dropExpired(ctx context.Context) error {
	return w.env.dropExpired(ctx, "", time.Now())
}

// dropExpired drops the expired targets of view ("" for all) as a daemon
// does: under each view's rebuild lock, skipping a view whose lock a
// rebuild holds (it drops what expired itself). Without the lock, a drop
// decided on a registry read before a --resume restarted a failed
// generation could remove the targets the resume just created.
func (e *Env) dropExpired(ctx context.Context, view string, now time.Time) error {
	snap, err := e.Registry.Snapshot(ctx)
	if err != nil {
		return err
	}
	var views []string
	for _, t := range snap.Droppable(view, now) {
		if !slices.Contains(views, t.View) {
			views = append(views, t.View)
		}
	}
	var errs []error
	for _, v := range views {
		release, ok, err := e.tryLockView(ctx, v)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			errs = append(errs, e.dropExpiredLocked(ctx, v, now))
			release()
		}
	}
	return errors.Join(errs...)
}

// dropExpiredLocked drops the droppable targets of view ("" for all),
// after checking that no live instance still routes to them. The caller
// holds the view's rebuild lock.
func (e *Env) dropExpiredLocked(ctx context.Context, view string, now time.Time) error {
	snap, err := e.Registry.Snapshot(ctx)
	if err != nil {
		return err
	}
	todo := snap.Droppable(view, now)
	if len(todo) == 0 {
		return nil
	}
	live, err := e.Registry.Instances(ctx, InstanceTTL)
	if err != nil {
		return err
	}
	for _, i := range live {
		if i.AppliedVersion < snap.Version {
			return nil // it may still write there; next time
		}
	}
	var errs []error
	for _, t := range todo {
		if err := e.dropTarget(ctx, t); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := e.Registry.MarkDropped(ctx, t.View, t.Generation, t.Store); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// targetKey is one physical target: a view's generation in a store.
type targetKey struct {
	view, store string
	gen         int
	// index is the Elasticsearch index the registry recorded for the
	// generation when this file names another; "" for this file's name.
	index string
}

func (a targetKey) compare(b targetKey) int {
	switch {
	case a.view != b.view:
		return compareStrings(a.view, b.view)
	case a.store != b.store:
		return compareStrings(a.store, b.store)
	}
	return a.gen - b.gen
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// guard is the sink of one target. Once the target is retired, Write
// drops the docs: the engine retries a failed write until it succeeds, with
// the routes it started with, and a retired target may be dropped.
type guard struct {
	projector.Sink
	// mu makes the look at dead and the count of an operation in flight
	// one step, which retire excludes: once it marked the guard dead, no
	// operation starts, and idle tells when those already started ended.
	mu       sync.RWMutex
	dead     atomic.Bool
	inflight atomic.Int64
	close    func()
	// before runs before each write: the daemon's Elasticsearch setup of
	// this generation when the cluster did not answer at its start (see
	// stack.ElasticsearchSetUp); nil otherwise.
	before func(context.Context) error
}

// enter counts an operation in flight, unless the guard is retired.
func (g *guard) enter() bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.dead.Load() {
		return false
	}
	g.inflight.Add(1)
	return true
}

// leave ends an operation enter counted.
func (g *guard) leave() { g.inflight.Add(-1) }

// idle reports whether no operation is in flight.
func (g *guard) idle() bool { return g.inflight.Load() == 0 }

func (g *guard) Write(ctx context.Context, docs []sinks.Doc) error {
	if !g.enter() {
		return nil
	}
	defer g.leave()
	if g.before != nil {
		if err := g.before(ctx); err != nil {
			return err // an outage, retried as the write would be
		}
	}
	return g.Sink.Write(ctx, docs)
}

// PurgeTombstones passes the engine's purge of deleted documents on to the
// target (projector.TombstonePurger): a daemon's routes are guards, and
// without it no view table or index of a daemon was ever purged. A retired
// target may be dropped already: it has nothing to purge.
var _ projector.TombstonePurger = (*guard)(nil)

func (g *guard) PurgeTombstones(ctx context.Context, olderThan time.Duration) (int64, error) {
	p, ok := g.Sink.(projector.TombstonePurger)
	if !ok || !g.enter() {
		return 0, nil
	}
	defer g.leave()
	if g.before != nil && g.before(ctx) != nil {
		return 0, nil // not set up yet: nothing to purge, and the cluster is down
	}
	return p.PurgeTombstones(ctx, olderThan)
}

func (g *guard) retire() {
	g.mu.Lock()
	g.dead.Store(true)
	g.mu.Unlock()
	if g.close != nil {
		g.close()
	}
}

func (e *Env) newGuard(k targetKey) (*guard, error) {
	switch k.store {
	case registry.StorePostgres:
		s, err := e.postgresSink(k.view, k.gen)
		if err != nil {
			return nil, err
		}
		return &guard{Sink: s}, nil
	case registry.StoreElasticsearch:
		s, own, err := e.esTargetSink(k.view, k.gen, k.index)
		if err != nil {
			return nil, err
		}
		// Close only drops idle connections; a write in flight finishes.
		g := &guard{Sink: s, close: s.Close}
		if e.esSetUp != nil && own {
			// The daemon's setup makes this file's index; another one
			// was made by the rebuild that recorded it.
			g.before = e.esSetUp(k.view, k.gen)
		}
		return g, nil
	}
	return nil, fmt.Errorf("store %q has no generations", k.store)
}
