// Package projector is the engine: it consumes Debezium records, applies
// them to the state, recomputes the affected view documents and writes them
// to the sinks, committing Kafka offsets only after every sink acknowledged.
package projector

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/sinks"
)

// Options configure an Engine.
type Options struct {
	Plan   *projections.Plan
	Pool   *pgxpool.Pool // the query PostgreSQL: state, revisions, pending docs
	Schema string        // projector's own schema; default "projector"
	Sinks  []Route
	Logger *slog.Logger
	// Metrics registers the engine's metrics; nil uses a private registry.
	Metrics *Metrics
	// MaxBackoff caps the wait between retries of a failing sink. Default 30s.
	MaxBackoff time.Duration
	// Memory keeps the state in this process instead of Pool: for running
	// projections without external services (`projector test`). A memory
	// engine is alone on its state and loses it when the process ends.
	Memory bool
	// Schemas fetches Avro schemas by id from a schema registry; nil when
	// no source uses Avro.
	Schemas SchemaRegistry
	// KeepRevisions, when set, reports whether the revisions of a view's
	// deleted documents must outlive the retention for now, because
	// something still finds documents through them (a rebuild's purge of
	// an old Redis key template).
	KeepRevisions func(ctx context.Context, view string) (bool, error)
	// ChunkDocs is the most documents computed in one transaction and
	// written at once (see split); default DefaultChunkDocs.
	ChunkDocs int
	// Clock, when set, is what now() gives expressions: `projector test`
	// pins it. Default: the wall clock.
	Clock func() time.Time
}

// SchemaRegistry gives the text of an Avro schema by its registry id.
type SchemaRegistry interface {
	SchemaByID(ctx context.Context, id int) (string, error)
}

// Engine applies batches of records. It prepares one batch at a time and
// completes one at a time (the two may overlap, see Prepare); several
// engines (processes) may share one state.
type Engine struct {
	plan      *projections.Plan
	state     store
	routesMu  sync.RWMutex
	sinks     []Route
	log       *slog.Logger
	metrics   *Metrics
	decoders  map[string]*sourceDecoder // by topic
	routes    map[*projections.Source][]route
	shapes    map[*projections.Source]rowShape
	backoff   time.Duration
	health    *health
	schemas   SchemaRegistry
	keepRevs  func(ctx context.Context, view string) (bool, error)
	conflicts conflicts // refused docs written again after later batches
	// missing lists, by source name, the columns older state rows may
	// lack (see columns.go).
	missing map[string][]string
	// groupCols are the root columns an aggregation view reads (groupColumns).
	groupCols map[*projections.View][]string
	groupFP   map[*projections.View]string // groupFingerprint, of the views keeping groups
	keepers   map[string][]groupKeeper     // by source name
	chunk     int                          // Options.ChunkDocs
	clock     func() time.Time             // Options.Clock
	// refreshHold is how long the refresh it runs stays held unrenewed:
	// refreshHold, shorter in tests.
	refreshHold time.Duration
	writing     writesInFlight // the sinks' writes under way, for Problems
	// recovered is, by pending row, what Recover did of it before it
	// failed.
	recovered   map[int64]recovery
	recoveredMu sync.Mutex
}

type sourceDecoder struct {
	src *projections.Source
	dec *debezium.Decoder
}

// New builds an engine. Call Migrate before the first batch.
func New(opts Options) (*Engine, error) {
	if opts.Schema == "" {
		opts.Schema = "projector"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(nil)
	}
	if opts.MaxBackoff == 0 {
		opts.MaxBackoff = 30 * time.Second
	}
	if opts.ChunkDocs <= 0 {
		opts.ChunkDocs = DefaultChunkDocs
	}
	var st store = &state{pool: opts.Pool, schema: opts.Schema}
	if opts.Memory {
		st = newMemState()
	}
	e := &Engine{
		plan:      opts.Plan,
		state:     st,
		sinks:     opts.Sinks,
		log:       opts.Logger,
		metrics:   opts.Metrics,
		decoders:  map[string]*sourceDecoder{},
		routes:    routes(opts.Plan),
		backoff:   opts.MaxBackoff,
		health:    newHealth(),
		schemas:   opts.Schemas,
		keepRevs:  opts.KeepRevisions,
		chunk:     opts.ChunkDocs,
		clock:     opts.Clock,
		recovered: map[int64]recovery{},

		refreshHold: refreshHold,
	}
	e.groupCols = groupColumns(opts.Plan)
	e.shapes = shapes(opts.Plan, e.routes, e.groupCols)
	e.groupFP = map[*projections.View]string{}
	for _, v := range opts.Plan.Views {
		if keepsGroups(v) {
			e.groupFP[v] = groupFingerprint(v, e.groupCols[v])
		}
	}
	e.keepers = keepers(opts.Plan, e.groupFP)
	for _, src := range opts.Plan.Sources {
		format, err := debezium.ParseFormat(src.Format)
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", src.Name, err)
		}
		cols := map[string]string{}
		for name, t := range src.Columns {
			cols[name] = t.String()
		}
		dec, err := debezium.NewDecoder(debezium.Options{Format: format, Columns: cols, Key: src.Key,
			FieldsPrefix: src.Unwrapped.FieldsPrefix, HeadersPrefix: src.Unwrapped.HeadersPrefix})
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", src.Name, err)
		}
		e.decoders[src.Topic] = &sourceDecoder{src: src, dec: dec}
	}
	return e, nil
}

// Topics lists the topics the engine consumes.
func (e *Engine) Topics() []string {
	out := make([]string, 0, len(e.decoders))
	for t := range e.decoders {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Migrate creates projector's state tables.
func (e *Engine) Migrate(ctx context.Context) error {
	if err := e.state.migrate(ctx, e.plan); err != nil {
		return err
	}
	st, ok := e.state.(*state)
	if !ok {
		return nil // a memory state starts empty: it lacks nothing
	}
	if err := e.checkColumns(ctx, st); err != nil {
		return fmt.Errorf("migrate state: %w", err)
	}
	return nil
}

// Record is one Kafka record, as the engine needs it.
type Record struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte
	Value     []byte
	// Control marks a transaction marker, which a transactional producer
	// (Kafka Connect with exactly-once source support) writes after each
	// transaction: it changes nothing, but its partition's watermark moves
	// past it, or a partition ending in one would never look caught up.
	Control bool
	// Headers are the record's headers: a tombstone's may tell the delete
	// it stands for (see debezium.Decoder.DecodeRecord).
	Headers []debezium.Header
}

// RecordOf is the engine's view of a record polled from Kafka.
func RecordOf(r *kgo.Record) Record {
	rec := Record{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Key: r.Key, Value: r.Value, Control: r.Attrs.IsControl()}
	if len(r.Headers) > 0 {
		rec.Headers = make([]debezium.Header, len(r.Headers))
		for i, h := range r.Headers {
			rec.Headers[i] = debezium.Header{Key: h.Key, Value: h.Value}
		}
	}
	return rec
}

// DeadLetter is a record the engine could not decode or project, and why.
type DeadLetter struct {
	Record Record
	Err    error
}

// pendingDoc is a document to recompute, as recorded in the pending table.
type pendingDoc struct {
	ID   int64          `json:"-"`
	View string         `json:"view"`
	Doc  string         `json:"doc_id"`
	Key  map[string]any `json:"key"`
}

// projected is the state transaction's outcome: the docs it computed, those
// it left to compute after it (see split), the pending rows of the fan-outs
// it recorded without holding them (see spill), and the pending rows that
// record them all.
type projected struct {
	docs     []sinks.Doc
	deferred []pendingDoc
	spilled  []int64
	own      ownDocs      // when spilled: the docs of pending, which a spilled row need not compute again
	pending  []int64      // ids of the pending rows
	dead     []DeadLetter // patches of rows the state does not hold
	tally    tally
}

// project writes the changes to the state, records the affected docs as
// pending, gives them their next revisions and computes them, all in one
// transaction. It holds the state lock throughout (see lockState), so the
// rows it wrote or found stay as they are until it commits: the builder
// takes them as they are instead of reading them back, and a revision still
// comes from the newest state, as it is assigned before the docs are built.
func (e *Engine) project(ctx context.Context, perSource map[*projections.Source][]rowChange) (projected, error) {
	if len(perSource) == 0 {
		return projected{}, nil
	}
	var out projected
	err := e.state.update(ctx, func(tx stateTx) error {
		out = projected{tally: tally{sources: make([]sourceTally, len(e.plan.Sources))}}
		seen, ops := fresh{}, groupOps{}
		aff, dead, err := e.applyChanges(ctx, tx, perSource, seen, ops, &out.spilled, &out.tally)
		if err != nil {
			return err
		}
		out.dead = dead
		if err := e.distrustOthers(ctx, tx, perSource); err != nil {
			return err
		}
		groups, err := e.updateGroups(ctx, tx, ops, &out.tally)
		if err != nil {
			return err
		}
		pending, err := e.insertPending(ctx, tx, aff)
		if err != nil {
			return err
		}
		now, deferred := e.split(pending, seen)
		if out.docs, err = e.computeDocs(ctx, tx, byView(now), held{rows: seen, groups: groups}, bump, &out.tally); err != nil {
			return err
		}
		out.pending, out.deferred = append(pendingIDs(pending), out.spilled...), deferred
		if len(out.spilled) > 0 {
			out.own = ownOf(pending)
		}
		return nil
	})
	if err == nil {
		e.count(&out.tally)
	}
	return out, err
}

// applyChanges writes the changes to the state in tx and collects the docs
// they affect, and in ops what they move in and out of groups. Patches of
// rows the state does not hold come back as dead letters. What they count
// goes to t.
func (e *Engine) applyChanges(ctx context.Context, tx stateTx, perSource map[*projections.Source][]rowChange, seen fresh, ops groupOps, spilled *[]int64, t *tally) (affected, []DeadLetter, error) {
	aff := affected{}
	var dead []DeadLetter
	cuts, err := tx.truncations(ctx)
	if err != nil {
		return nil, nil, err
	}
	for i, src := range e.plan.Sources {
		changes := perSource[src]
		if len(changes) == 0 {
			continue
		}
		n := &t.sources[i]
		n.changed = true
		shape := e.shapes[src]
		changes, older, err := e.truncateState(ctx, tx, src, changes, cuts[src.Name], seen, spilled, n)
		if err != nil {
			return nil, nil, err
		}
		n.stale += older
		// ON CONFLICT cannot touch a row twice in one statement: apply a
		// key's changes in rounds, in order, after folding away the ones
		// a later change of the same key makes moot.
		// A change a later one of its row made moot counts as that one:
		// stale unless it is applied (below).
		changes, older, superseded := fold(changes)
		n.stale += older
		for _, c := range superseded {
			n.stale += c
		}
		var changed []applied // every round's rows, collected once below
		for _, round := range rounds(changes) {
			rows, err := tx.apply(ctx, src, round, shape)
			if err != nil {
				return nil, nil, err
			}
			before := len(dead)
			rows, dead = unbased(src, round, rows, dead)
			n.applied += len(rows)
			n.stale += len(round) - len(rows) - (len(dead) - before)
			if superseded != nil {
				for _, a := range rows {
					n.applied += superseded[a.Key]
					n.stale -= superseded[a.Key]
					delete(superseded, a.Key)
				}
			}
			seen.applied(src, rows, shape.New == nil)
			ops.note(e, src, rows)
			changed = append(changed, rows...)
		}
		// The docs are found once all rounds are applied, from every
		// round's old and new values (a key's before the batch, after it
		// and those it passed through, as when each round was collected):
		// ten merges of a hot user in a batch climb its fan-out, and spill
		// it, once, where a spill per round had every spilled doc
		// computed and written ten times.
		if err := e.collect(ctx, tx, src, changed, aff, seen, spilled); err != nil {
			return nil, nil, err
		}
	}
	return aff, dead, nil
}

// unbased takes out of rows the patches the state held no row for, and
// adds their records to dead. Applied to nothing, such a patch would make a
// document of only the changed fields, which no reader can tell from a
// whole one: the insert was never seen (the topic's retention dropped it,
// the connector started without a snapshot) or the row was deleted before.
//
// It takes out, as dead too, the patches that make values longer than
// the state's indexes hold (applied.Oversized: what a patch leaves is
// known only once it is applied to the stored row).
//
// It takes out the patches the stored document cannot take too
// (applied.Unviable: a set through an array by a field name), but as
// stale, not dead: MongoDB applied the update, so the document it updated
// was not the stored one. The stored one is newer: a MongoDB snapshot's
// reads carry the position where the snapshot began but what the
// collection held when they were read, so the updates streamed after that
// position may no longer fit them, and the changes after them bring the
// document on. A replay of such an update is stale as any replay is.
func unbased(src *projections.Source, round []rowChange, rows []applied, dead []DeadLetter) ([]applied, []DeadLetter) {
	kept := rows[:0]
	for _, a := range rows {
		var err error
		switch {
		case a.Unbased:
			err = fmt.Errorf("%w: a partial update of %s row %s, which the state does not hold (its insert was never seen, or it was deleted before): "+
				"snapshot the source again, or capture full documents (capture.mode=change_streams_update_full)", ErrBadRecord, src.Name, a.Key)
		case a.Oversized:
			err = fmt.Errorf("%w: this partial update of %s row %s makes values longer than projector indexes (a join column over %d bytes, or the group_by columns of a view over %d bytes together)",
				ErrBadRecord, src.Name, a.Key, maxIndexedText, maxIndexedText)
		case a.Unviable:
			continue // counted stale by the caller
		default:
			kept = append(kept, a)
			continue
		}
		d := DeadLetter{Err: err}
		i := slices.IndexFunc(round, func(c rowChange) bool { return c.Key == a.Key })
		if i >= 0 && round[i].rec != nil {
			d.Record = *round[i].rec
		}
		dead = append(dead, d)
	}
	return kept, dead
}

func byView(pending []pendingDoc) map[string]map[string]map[string]any {
	out := map[string]map[string]map[string]any{}
	for _, p := range pending {
		if out[p.View] == nil {
			out[p.View] = map[string]map[string]any{}
		}
		out[p.View][p.Doc] = p.Key
	}
	return out
}

func pendingIDs(pending []pendingDoc) []int64 {
	var ids []int64
	for _, p := range pending {
		if len(ids) == 0 || ids[len(ids)-1] != p.ID {
			ids = append(ids, p.ID)
		}
	}
	return ids
}

func (e *Engine) insertPending(ctx context.Context, tx stateTx, aff affected) ([]pendingDoc, error) {
	if aff.count() == 0 {
		return nil, nil
	}
	docs := make([]pendingDoc, 0, aff.count())
	for v, ids := range aff {
		for id, key := range ids {
			docs = append(docs, pendingDoc{View: v.Name, Doc: id, Key: key})
		}
	}
	return tx.insertPending(ctx, docs)
}

// recompute assigns each doc its next revision and computes it from the
// state, in one transaction: the revision row stays locked until the state
// was read, so a higher revision always comes from newer state.
func (e *Engine) recompute(ctx context.Context, byView map[string]map[string]map[string]any) ([]sinks.Doc, error) {
	return e.computeIn(ctx, byView, bump, held{}, counted)
}

// counting says whether a computation adds what it counted (expression
// errors) to the metrics: not when the same documents were counted by
// another computation of them (a rebuild's verification of what it wrote,
// a refresh's write of the arrivals its check counted).
type counting bool

const (
	counted   counting = true
	uncounted counting = false
)

// computeIn computes docs from the state in a transaction of their own,
// which reads one snapshot of it: without the state lock, a batch may
// commit between two of its reads, and a doc the batch affects but left to
// compute after it (see split) is not locked by it, so it would read half
// of the batch. The snapshot is taken by the first statement, which takes
// the revisions (see computeDocs): a batch that committed a newer
// revision of a doc since makes the transaction start again.
func (e *Engine) computeIn(ctx context.Context, byView map[string]map[string]map[string]any, revs revMode, h held, c counting) ([]sinks.Doc, error) {
	var docs []sinks.Doc
	var t tally
	err := e.state.snapshot(ctx, func(tx stateTx) error {
		t = tally{}
		var err error
		docs, err = e.computeDocs(ctx, tx, byView, h, revs, &t)
		return err
	})
	if err == nil && c == counted {
		e.count(&t)
	}
	return docs, err
}

// revMode says whether computing docs assigns them new revisions (to write
// them) or only reads their current ones (to check what is stored).
type revMode bool

const (
	bump revMode = true
	peek revMode = false
)

// held is what a transaction already holds of the state, which the builder
// takes instead of reading it again.
type held struct {
	rows   fresh      // rows it wrote or read under the state lock
	groups groupCache // groups it brought up to date (updateGroups)
	// fromRows: compute groups from their rows, trusting no kept group,
	// and stop trusting those of the docs given new revisions (a rebuild
	// from the state, which repairs whatever it finds).
	fromRows bool
}

// computeDocs builds the docs in tx, each with its next revision (bump) or
// its current one (peek), taking what h holds instead of reading it again.
// Either way the revision rows stay locked until the docs are built: no
// write of a doc computed from newer state can come in between.
// Expression errors are counted in t.
func (e *Engine) computeDocs(ctx context.Context, tx stateTx, byView map[string]map[string]map[string]any, h held, mode revMode, t *tally) ([]sinks.Doc, error) {
	views := make([]*projections.View, 0, len(byView))
	lists := map[*projections.View][]string{}
	for _, v := range e.plan.Views {
		if ids := byView[v.Name]; len(ids) > 0 {
			views = append(views, v)
			// A fixed lock order keeps concurrent instances from
			// deadlocking: kept groups (as updateGroups locks them), then
			// revisions, view by view in plan order, ids sorted.
			lists[v] = slices.Sorted(maps.Keys(ids))
		}
	}
	for _, v := range views {
		if _, keeps := e.groupFP[v]; keeps && h.fromRows && mode == bump {
			if err := tx.distrustGroups(ctx, v.Name, lists[v]); err != nil {
				return nil, err
			}
		}
	}
	// Every view's revisions before any doc is built: in a snapshot
	// (computeIn), a revision another batch takes while docs are built
	// would make it start again, and a busy view would starve it.
	revs := map[*projections.View]map[string]int64{}
	for _, v := range views {
		var err error
		if revs[v], err = tx.revisions(ctx, v.Name, lists[v], mode == bump); err != nil {
			return nil, err
		}
	}
	var docs []sinks.Doc
	for _, v := range views {
		b := &builder{e: e, tx: tx, view: v, held: h, tally: t}
		out, err := b.docs(ctx, byView[v.Name], revs[v])
		if err != nil {
			return nil, err
		}
		if mode == bump {
			if err := tx.deletedDocs(ctx, v.Name, deletedIDs(out)); err != nil {
				return nil, err
			}
		}
		docs = append(docs, out...)
	}
	return docs, nil
}

// deletedIDs lists the ids of the docs computed absent.
func deletedIDs(docs []sinks.Doc) []string {
	var ids []string
	for _, d := range docs {
		if d.Deleted {
			ids = append(ids, d.ID)
		}
	}
	return ids
}
