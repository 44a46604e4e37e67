package rebuild

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/internal/stack"
	"github.com/projectorhq/projector/projector"
)

// Options of one rebuild.
type Options struct {
	View string
	// From is where the documents come from: registry.SourceState (the
	// default) recomputes them from the state tables; registry.SourceKafka
	// first replays the view's topics into the state (replay.go),
	// registry.SourceSource re-reads PostgreSQL sources (source.go) and
	// registry.SourceSignal has Debezium re-read them (signal.go).
	From string
	// SourceURLs are the source databases for --from source, by source
	// name; the key "" applies to every source without its own.
	SourceURLs map[string]string
	// ResetPositions, with --from source, takes a source whose database
	// holds changes older than the state's (restored, failed over with WAL
	// lost, replaced) as it is now (see positionsAhead).
	ResetPositions bool
	// Kafka adds client options for --from kafka (TLS, SASL; tests).
	Kafka []kgo.Opt
	// ReplayIdle is how long a replay waits for records before its end
	// offsets before it checks that the brokers answer (failing with
	// ErrKafkaUnreachable when they do not within it) and, once they did,
	// waits again before it ends (default 10s; see stall). Brokers that do
	// not answer the listing of offsets at its start are waited for as long
	// (see untilAnswered).
	ReplayIdle time.Duration
	// Stores limits the rebuild to some of the view's stores (postgres,
	// redis, elasticsearch); nil rebuilds all of them.
	Stores []string
	// Keep is how long the replaced generation's targets stay after the
	// swap (readers' queries in flight, a look back); 0 drops them at once.
	// It is recorded with the generation: a resumed rebuild keeps the
	// value of the run that started it.
	Keep time.Duration
	// Chunk is the documents recomputed and written at once (default 1000);
	// Workers the chunks in flight at once (default 4).
	Chunk, Workers int
	// WaitTimeout bounds the wait for live instances to apply a registry
	// change (default 1m).
	WaitTimeout time.Duration
	// Verify is VerifySnapshot (the default: one snapshot of revisions,
	// presence in the other stores, a recomputed sample) or VerifyFull
	// (every document recomputed and compared field by field).
	Verify string
	// VerifyTimeout bounds how long documents found different may take to
	// settle (a live write in flight) before the swap is refused (default 30s).
	VerifyTimeout time.Duration
	Progress      Progress
	Log           *slog.Logger

	// afterFill runs between the fill and the verification (tests).
	afterFill func(ctx context.Context, g registry.Generation) error
	// afterPurge runs between the purge of an old Redis key template's
	// keys and the decision to forget the template (tests).
	afterPurge func(ctx context.Context, template string) error
}

func (o *Options) defaults() {
	if o.From == "" {
		o.From = registry.SourceState
	}
	if o.Chunk <= 0 {
		o.Chunk = 1000
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.WaitTimeout <= 0 {
		o.WaitTimeout = time.Minute
	}
	if o.ReplayIdle <= 0 {
		o.ReplayIdle = replayIdle
	}
	if o.Verify == "" {
		o.Verify = VerifySnapshot
	}
	if o.VerifyTimeout <= 0 {
		o.VerifyTimeout = 30 * time.Second
	}
	if o.Progress == nil {
		o.Progress = noProgress{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// Verification modes.
const (
	VerifySnapshot = "revs"
	VerifyFull     = "full"
)

// Result is what a completed rebuild did.
type Result struct {
	View          string
	Generation    int
	Replaced      map[string]int // store → the generation readers saw before
	Filled        int64          // documents written by the fill (this run)
	Swept         int64          // Redis documents the sweep recomputed (deleted, mostly)
	Replayed      int64          // Kafka records replayed into the state (--from kafka)
	DeadLetters   int64          // replayed records that could not be projected
	SourceRows    int64          // rows read from the source databases (--from source)
	SourceDeleted int64          // state rows the source no longer had, deleted
	Verified      int64          // live documents the verification found right
	Checksum      string
	Instances     int           // live daemon instances that wrote live changes to it
	Reread        time.Duration // re-reading the sources into the state (source, kafka, signal)
	Fill          time.Duration
	Verify        time.Duration
	Total         time.Duration
	Dropped       bool          // the replaced targets are already dropped (Keep 0)
	Keep          time.Duration // the grace period the generation was recorded with

	// signaled: the run asked Debezium for an incremental snapshot.
	signaled bool
}

// run is one rebuild of one generation, new or resumed.
type run struct {
	env  *Env
	opts Options
	gen  registry.Generation
	res  Result
	// whole: the re-read read every row of the view's sources (see
	// replayWindow.whole); their state then holds every column it keeps,
	// as far as its rows say (recordReread).
	whole bool
	// since is the state PostgreSQL's clock when the re-read began: a row
	// it wrote was written since.
	since time.Time
}

// Run rebuilds a view into a new generation and swaps it in.
func Run(ctx context.Context, env *Env, opts Options) (Result, error) {
	opts.defaults()
	switch opts.From {
	case registry.SourceState, registry.SourceKafka, registry.SourceSource, registry.SourceSignal:
	default:
		return Result{}, fmt.Errorf("rebuild --from %s: %w (use --from state, source, kafka or signal)", opts.From, ErrUnsupported)
	}
	v, err := env.View(opts.View)
	if err != nil {
		return Result{}, err
	}
	if opts.From == registry.SourceState {
		if err := env.stateLacks(ctx, v); err != nil {
			return Result{}, err
		}
	}
	if opts.From == registry.SourceSignal {
		// Settings missing for a signal are found before anything is built.
		probe := &run{env: env, opts: opts, gen: registry.Generation{View: opts.View}}
		if _, err := probe.signalTargets(); err != nil {
			return Result{}, err
		}
	}
	stores, err := env.PickStores(opts.View, opts.Stores)
	if err != nil {
		return Result{}, err
	}
	// Before anything is built: a refused rebuild leaves nothing.
	release, err := env.lockView(ctx, opts.View, rereads(opts.From))
	if err != nil {
		return Result{}, err
	}
	defer release()
	if err := env.checkInstancesDefinition(ctx, opts.View); err != nil {
		return Result{}, err
	}
	if err := env.dropExpiredLocked(ctx, opts.View, time.Now()); err != nil {
		opts.Log.Warn("dropping expired generations", "view", opts.View, "err", err)
	}
	snap, err := env.Registry.Snapshot(ctx)
	if err != nil {
		return Result{}, err
	}
	if b, ok := snap.Building(opts.View); ok {
		return Result{}, fmt.Errorf("%w: view %s generation %d is %s since %s; resume it with --resume or drop it with --abort",
			ErrInProgress, opts.View, b.Number, b.State, b.CreatedAt.Format(time.RFC3339))
	}
	n := snap.Next(opts.View)
	if err := env.dropUnregistered(ctx, opts.View, n, stores); err != nil {
		return Result{}, err
	}
	env.dropUnregisteredElsewhere(ctx, opts, n, stores)
	registered := false
	defer func() {
		if !registered { // best effort: the next rebuild drops them too
			cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if err := env.dropUnregistered(cleanup, opts.View, n, stores); err != nil {
				opts.Log.Warn("dropping the targets of a generation never registered", "view", opts.View, "generation", n, "err", err)
			}
		}
	}()
	if err := env.createTargets(ctx, opts.View, n, stores); err != nil {
		return Result{}, fmt.Errorf("view %s generation %d: create targets: %w", opts.View, n, err)
	}
	total, err := env.estimate(ctx, opts.View)
	if err != nil {
		return Result{}, err
	}
	all := env.Stores(opts.View)
	g := registry.Generation{View: opts.View, Number: n, Source: opts.From, Stores: stores,
		Targets: env.targets(opts.View, n, stores), DocsTotal: total, Keep: opts.Keep}
	initial := registry.Generation{Stores: all, Targets: env.targets(opts.View, 1, all)}
	if _, err := env.Registry.Register(ctx, g, initial); err != nil {
		if errors.Is(err, registry.ErrBusy) {
			return Result{}, fmt.Errorf("%w: %w", ErrInProgress, err)
		}
		return Result{}, err
	}
	registered = true
	// The template this rebuild writes is one the view's keys have now.
	if err := env.noteRedisTemplates(ctx); err != nil {
		return Result{}, err
	}
	opts.Log.Info("rebuilding", "view", opts.View, "generation", n, "from", opts.From, "stores", stores, "docs", total)
	res, err := resume(ctx, env, opts)
	if err != nil {
		err = env.discardUntouched(ctx, opts, res, n, err)
	}
	return res, err
}

// Resume continues the rebuild of a view where it stopped: a building
// generation continues its fill from the last chunk recorded, a verifying
// one is verified again, a failed one is filled again from the start.
func Resume(ctx context.Context, env *Env, opts Options) (Result, error) {
	opts.defaults()
	if _, err := env.View(opts.View); err != nil {
		return Result{}, err
	}
	// Whether the generation reads its sources again is read before the
	// locks, to take them all in one pass (see lockView), and again once
	// they are held: should another process have replaced the generation
	// meanwhile, they are taken again.
	sharing, err := resumeRereads(ctx, env, opts.View)
	if err != nil {
		return Result{}, err
	}
	release, err := env.lockView(ctx, opts.View, sharing)
	if err != nil {
		return Result{}, err
	}
	defer func() { release() }()
	if now, err := resumeRereads(ctx, env, opts.View); err != nil {
		return Result{}, err
	} else if now && !sharing {
		release()
		if release, err = env.lockView(ctx, opts.View, true); err != nil {
			release = func() {}
			return Result{}, err
		}
	}
	if err := env.checkInstancesDefinition(ctx, opts.View); err != nil {
		return Result{}, err
	}
	return resume(ctx, env, opts)
}

// resumeRereads reports whether the generation Resume would go on with
// reads the view's sources again.
func resumeRereads(ctx context.Context, env *Env, view string) (bool, error) {
	snap, err := env.Registry.Snapshot(ctx)
	if err != nil {
		return false, err
	}
	g, ok := snap.Building(view)
	if !ok {
		g, ok = lastFailed(snap, view)
	}
	return ok && rereads(g.Source), nil
}

// resume runs the generation being built; the caller holds the view lock.
func resume(ctx context.Context, env *Env, opts Options) (Result, error) {
	start := time.Now()
	snap, err := env.Registry.Snapshot(ctx)
	if err != nil {
		return Result{}, err
	}
	g, ok := snap.Building(opts.View)
	if !ok {
		failed, ok := lastFailed(snap, opts.View)
		if !ok {
			return Result{}, fmt.Errorf("view %s: %w (no generation is building, verifying or failed)", opts.View, ErrNothingToResume)
		}
		if err := env.restartFailed(ctx, failed); err != nil {
			return Result{}, err
		}
		if snap, err = env.Registry.Snapshot(ctx); err != nil {
			return Result{}, err
		}
		g, _ = snap.Get(opts.View, failed.Number)
	} else if err := env.builtByThisFile(ctx, g); err != nil {
		return Result{}, err
	}
	r := &run{env: env, opts: opts, gen: g, res: Result{View: g.View, Generation: g.Number, Replaced: map[string]int{}, Keep: g.Keep}}
	for _, s := range g.Stores {
		if s != registry.StoreRedis {
			r.res.Replaced[s] = snap.Serving(g.View, s)
		}
	}
	err = r.exec(ctx)
	r.res.Total = time.Since(start)
	return r.res, err
}

// builtByThisFile refuses to go on with a generation whose table cannot
// take this file's documents: it was started with another definition
// (a field added since), and its fill and verification would fail on the
// column it lacks, resumed after resumed.
func (e *Env) builtByThisFile(ctx context.Context, g registry.Generation) error {
	if !g.Has(registry.StorePostgres) {
		return nil
	}
	s, err := e.postgresSink(g.View, g.Number)
	if err != nil {
		return err
	}
	if why := s.Unfit(ctx, g.View); why != nil {
		return fmt.Errorf("%w: view %s generation %d was started with another definition than this file's (%w): resume it with that file, or drop it with --abort and rebuild",
			ErrOtherDefinition, g.View, g.Number, why)
	}
	return nil
}

// restartFailed makes a failed generation building again with new, empty
// targets: the daemons stopped writing to it when it failed. The new
// targets are named by this file, which may name another index or table
// than the generation was recorded with (renamed since): the registry
// records them, so that the verification, the swap, the daemons' routes
// and the drop all go to the targets the restart fills. The caller holds
// the view lock, which the daemons' drop of expired generations takes
// too: none drops the new targets before the registry says building.
func (e *Env) restartFailed(ctx context.Context, failed registry.Generation) error {
	snap, err := e.Registry.Snapshot(ctx)
	if err != nil {
		return err
	}
	if err := e.restoreReaders(ctx, snap, failed); err != nil {
		return err
	}
	for _, t := range targetsOf(failed) {
		if err := e.dropTarget(ctx, t); err != nil {
			return err
		}
	}
	// Record the new targets and forget which were dropped before creating
	// them, still failed: interrupted between the two, the registry would
	// call dropped targets that exist, or not name them at all, and no one
	// would ever drop them. Recorded and not dropped, missing ones are
	// dropped as harmlessly as existing ones.
	targets := e.targets(failed.View, failed.Number, failed.Stores)
	if _, err := e.Registry.Restart(ctx, failed.View, failed.Number, registry.Failed, failed.Error, targets); err != nil {
		return err
	}
	if err := e.createTargets(ctx, failed.View, failed.Number, failed.Stores); err != nil {
		return err
	}
	// A restart also forgets which targets were dropped: they exist again.
	_, err = e.Registry.Restart(ctx, failed.View, failed.Number, registry.Building, "", targets)
	return err
}

// lastAbortedUndropped is the view's last generation when it is aborted
// with targets not dropped yet.
func lastAbortedUndropped(snap registry.Snapshot, view string) (registry.Generation, bool) {
	gens := snap.Of(view)
	if len(gens) == 0 {
		return registry.Generation{}, false
	}
	g := gens[len(gens)-1]
	if g.State != registry.Aborted || len(g.Dropped) >= len(g.Targets) {
		return registry.Generation{}, false
	}
	return g, true
}

func lastFailed(snap registry.Snapshot, view string) (registry.Generation, bool) {
	gens := snap.Of(view)
	if len(gens) > 0 && gens[len(gens)-1].State == registry.Failed {
		return gens[len(gens)-1], true
	}
	return registry.Generation{}, false
}

// exec takes the generation from where it is to active.
func (r *run) exec(ctx context.Context) error {
	g := &r.gen
	if g.State == registry.Building {
		// Every live instance must write live changes to the new generation
		// before the fill reads a document: a change committed after the
		// fill read it is then written by the live path.
		snap, err := r.env.Registry.Snapshot(ctx)
		if err != nil {
			return err
		}
		live, err := r.env.Registry.WaitApplied(ctx, snap.Version, InstanceTTL, 100*time.Millisecond, r.opts.WaitTimeout)
		if err != nil {
			return fmt.Errorf("view %s generation %d: %w", g.View, g.Number, err)
		}
		r.res.Instances = len(live)
		if !g.Filled && g.Cursor == "" && rereads(g.Source) {
			// Replayed or read again on --resume before the fill started:
			// applying a change twice is harmless.
			t := time.Now()
			if err := r.reread(ctx); err != nil {
				return err
			}
			r.res.Reread = time.Since(t)
		}
		if !g.Filled {
			t := time.Now()
			if err := r.fill(ctx); err != nil {
				return err
			}
			r.res.Fill = time.Since(t)
		}
		if r.opts.afterFill != nil {
			if err := r.opts.afterFill(ctx, *g); err != nil {
				return err
			}
		}
		if _, err := r.env.Registry.Transition(ctx, g.View, g.Number, []registry.State{registry.Building}, registry.Verifying, "", false); err != nil {
			return err
		}
		g.State = registry.Verifying
	}
	if g.State != registry.Verifying {
		return fmt.Errorf("view %s generation %d is %s: %w", g.View, g.Number, g.State, registry.ErrConflict)
	}
	t := time.Now()
	rep, err := r.verify(ctx)
	r.res.Verify = time.Since(t)
	if err == nil {
		// An instance started since the rebuild did with another
		// definition writes documents the new generation's readers would
		// not hold, or fails its writes to a table lacking its columns.
		err = r.env.checkInstancesDefinition(ctx, g.View)
	}
	if err != nil {
		if errors.Is(err, ErrMismatch) || errors.Is(err, ErrOtherDefinition) {
			// Readers that an interrupted swap left on this generation
			// go back to the served one before it is failed.
			if snap, serr := r.env.Registry.Snapshot(context.WithoutCancel(ctx)); serr != nil {
				return errors.Join(err, serr)
			} else if rerr := r.env.restoreReaders(context.WithoutCancel(ctx), snap, *g); rerr != nil {
				return errors.Join(err, rerr)
			}
			if _, terr := r.env.Registry.Transition(context.WithoutCancel(ctx), g.View, g.Number,
				[]registry.State{registry.Verifying}, registry.Failed, err.Error(), false); terr != nil {
				return errors.Join(err, terr)
			}
		}
		return err
	}
	r.res.Verified, r.res.Checksum = rep.verified, rep.checksum
	if g.Has(registry.StoreRedis) {
		if err := r.sweep(ctx); err != nil {
			return err
		}
		if err := r.sweepTemplates(ctx); err != nil {
			return err
		}
	}
	if err := r.swap(ctx, rep); err != nil {
		return err
	}
	r.opts.Log.Info("swapped", "view", g.View, "generation", g.Number, "verified", rep.verified)
	if g.Has(registry.StoreRedis) && r.env.Redis != nil {
		// Redis holds the view's documents again (see stack.SetMarker).
		err := stack.SetMarker(ctx, r.env.Redis, r.env.Pool.Config().ConnConfig.Database, r.env.Config.Stores.Postgres.Schema, g.View)
		if err == nil {
			err = r.env.Registry.NoteRedisMarked(ctx, []string{g.View})
		}
		if err != nil {
			r.opts.Log.Warn("the view's Redis marker could not be set: its daemons will say Redis lost its documents until a rebuild sets it", "view", g.View, "err", err)
		}
	}
	if g.Keep == 0 {
		r.res.Dropped = r.dropReplaced(ctx) == nil
	}
	return nil
}

// dropReplaced drops the targets the swap replaced, after every live
// instance stopped writing them.
func (r *run) dropReplaced(ctx context.Context) error {
	snap, err := r.env.Registry.Snapshot(ctx)
	if err != nil {
		return err
	}
	if _, err := r.env.Registry.WaitApplied(ctx, snap.Version, InstanceTTL, 100*time.Millisecond, r.opts.WaitTimeout); err != nil {
		r.opts.Log.Warn("old generation kept: an instance did not apply the swap", "err", err)
		return err
	}
	var errs []error
	for _, t := range snap.Droppable(r.gen.View, time.Time{}) {
		if r.res.Replaced[t.Store] != t.Generation {
			continue
		}
		if err := r.env.dropTarget(ctx, t); err != nil {
			errs = append(errs, err)
			continue
		}
		errs = append(errs, r.env.Registry.MarkDropped(ctx, t.View, t.Generation, t.Store))
	}
	if err := errors.Join(errs...); err != nil {
		r.opts.Log.Warn("dropping the replaced generation", "err", err)
		return err
	}
	return nil
}

// routes are where the rebuild writes: the new generation's targets, and
// the live Redis keys.
func (r *run) routes() ([]projector.Route, error) {
	var out []projector.Route
	view := []string{r.gen.View}
	for _, s := range r.gen.Stores {
		switch s {
		case registry.StorePostgres:
			sink, err := r.env.postgresSink(r.gen.View, r.gen.Number)
			if err != nil {
				return nil, err
			}
			out = append(out, projector.Route{Sink: sink, Views: view})
		case registry.StoreRedis:
			out = append(out, projector.Route{Sink: r.env.live, Views: view})
		case registry.StoreElasticsearch:
			sink, err := r.env.esSink(r.gen.View, r.gen.Number)
			if err != nil {
				return nil, err
			}
			out = append(out, projector.Route{Sink: sink, Views: view})
		}
	}
	return out, nil
}
