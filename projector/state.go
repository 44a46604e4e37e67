package projector

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	gojson "github.com/goccy/go-json"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/projections"
)

// store is what the engine needs from its state: the rows the views are
// computed from, the documents pending a sink write, the document revisions
// and the watermarks. state keeps them in PostgreSQL, shared by every
// instance; memState keeps them in the process, for `projector test`.
type store interface {
	migrate(ctx context.Context, plan *projections.Plan) error
	// update runs fn in one transaction that sees every change committed
	// before it, retrying it when concurrent instances conflict.
	update(ctx context.Context, fn func(stateTx) error) error
	// snapshot runs fn in one transaction whose reads all see one snapshot
	// of the state, taken at its first statement (REPEATABLE READ),
	// retrying it when a row it writes was written since.
	snapshot(ctx context.Context, fn func(stateTx) error) error
	// pendingBatchIDs lists the ids of the pending rows, oldest first.
	pendingBatchIDs(ctx context.Context) ([]int64, error)
	// pending lists the docs of the pending rows ids.
	pending(ctx context.Context, ids []int64) ([]pendingDoc, error)
	forgetPending(ctx context.Context, ids []int64) error
	// finish forgets the pending docs of a batch whose docs every sink
	// acknowledged and saves its watermarks, at once.
	finish(ctx context.Context, ids []int64, marks []*mark) error
	// forgetWatermarks deletes the watermarks of topics (created again).
	forgetWatermarks(ctx context.Context, topics []string) error
	// forgetWatermarksPast deletes the watermarks past their partition's
	// end offset in ends (topic → partition → end) and says how many.
	forgetWatermarksPast(ctx context.Context, ends map[string]map[int32]int64) (int64, error)
	// liveRows lists up to limit live rows of src with keys after `after`
	// (from the first when not started), in key order.
	liveRows(ctx context.Context, src *projections.Source, after string, started bool, limit int) ([]stateRow, error)
	// collectTombstones deletes the tombstones of src whose delete was
	// applied more than age ago, up to limit per statement, and says how
	// many it deleted.
	collectTombstones(ctx context.Context, src *projections.Source, age time.Duration, limit int) (int64, error)
	// groups lists up to limit distinct group keys of an aggregation view
	// after `after` (from the first when not started; in key order), each
	// with one of its root rows.
	groups(ctx context.Context, v *projections.View, after string, started bool, limit int) (rows []map[string]any, last string, err error)
	// collectRevisions deletes up to limit revisions of view's documents
	// deleted more than age ago, and says how many it deleted.
	collectRevisions(ctx context.Context, view string, age time.Duration, limit int) (int64, error)
	// saveConflicts records docs set aside for a conflict (and forgets
	// those taken and marked Done, if still held as taken), and
	// takeConflicts returns up to limit of them (any instance's) of the
	// views named and holds them for conflictHold: see conflictstore.go.
	saveConflicts(ctx context.Context, rows []conflictRow) error
	takeConflicts(ctx context.Context, views []string, limit int) ([]conflictRow, error)
	refreshStore
}

// stateTx is a transaction of a store.
type stateTx interface {
	// apply writes changes (distinct keys) to a source's state, each only if
	// its position is not older than the stored one, and returns the rows it
	// changed with their previous data, as much of them as shape asks for.
	apply(ctx context.Context, src *projections.Source, changes []rowChange, shape rowShape) ([]applied, error)
	// rowsByKey reads the rows with the given keys, deleted ones included.
	rowsByKey(ctx context.Context, src *projections.Source, keys []string) ([]stateRow, error)
	// rowsByColumn reads the live rows whose columns each have one of
	// their values in by (compared as the text of the value, as
	// data->>'col'), with only the columns cols (all of them when cols is
	// nil), at most limit of them (all when limit is 0).
	rowsByColumn(ctx context.Context, src *projections.Source, by []columnIn, cols []string, limit int) ([]stateRow, error)
	// insertPending records docs as pending and returns them with their ids.
	insertPending(ctx context.Context, docs []pendingDoc) ([]pendingDoc, error)
	// revisions gives each doc (ids sorted) its next revision (next) or
	// reads its current one (0 for a doc never computed), locking the
	// docs' revisions until tx ends either way.
	revisions(ctx context.Context, view string, ids []string, next bool) (map[string]int64, error)
	// deletedDocs records that the docs ids (revisions taken in tx) were
	// computed absent: their revisions may be collected once deleted
	// longer than the retention (see collectRevisions).
	deletedDocs(ctx context.Context, view string, ids []string) error
	// firstRows reads, for each of tuples, one live row (any) whose
	// columns by have the tuple's texts, with only the columns cols:
	// whether a group of those values has rows, and its values, without
	// reading them all.
	firstRows(ctx context.Context, src *projections.Source, by []string, tuples [][]string, cols []string) ([]stateRow, error)
	// eachGroup calls fn, page of them at a time, with one live row of src
	// (its columns cols) per distinct value of the columns group whose
	// first columns have one of tuples' texts: the groups holding a joined
	// value, found through the index on group (a skip scan), not by
	// reading every row of that value.
	eachGroup(ctx context.Context, src *projections.Source, group []string, tuples [][]string, cols []string, page int, fn func([]stateRow) error) error
	// eachRow calls fn with the live rows whose columns have their values
	// in by (as rowsByColumn), page of them at a time, holding no more.
	eachRow(ctx context.Context, src *projections.Source, by []columnIn, cols []string, page int, fn func([]stateRow) error) error
	// liveBefore reads, in key order, limit of the live rows of src written
	// at positions older than pos, from the first key after after (from the
	// first key when after is nil): what a truncate at pos removes, a chunk
	// at a time.
	liveBefore(ctx context.Context, src *projections.Source, pos debezium.Position, after *string, limit int) ([]stateRow, error)
	// truncations takes the state lock and reads, by source name, the
	// position of the newest truncate applied: a change older than it is
	// of a row the truncate removed, whenever it arrives.
	truncations(ctx context.Context) (map[string]debezium.Position, error)
	// truncate records a truncate of src at pos.
	truncate(ctx context.Context, src *projections.Source, pos debezium.Position) error
	// groupAggs reads the kept groups of an aggregation view (see
	// groupAgg), locking them until tx ends when lock is set.
	groupAggs(ctx context.Context, view string, ids []string, lock bool) (map[string]storedGroup, error)
	// saveGroupAggs keeps the groups of a view computed by the definition
	// fp, forgetting the nil ones; those in recomputed were computed from
	// their rows just now.
	saveGroupAggs(ctx context.Context, source, view, fp string, groups map[string]*groupAgg, recomputed map[string]string) error
	// distrustGroups stops trusting the kept groups ids of view.
	distrustGroups(ctx context.Context, view string, ids []string) error
	// forgetGroups forgets the kept groups ids (sorted) of view: each is
	// computed from its rows when next needed.
	forgetGroups(ctx context.Context, view string, ids []string) error
	// distrustOthers stops trusting the groups kept over the sources by
	// definitions other than mine (see groupKeeper).
	distrustOthers(ctx context.Context, sources []string, mine []groupKeeper) error
}

// state keeps, per source, the rows the views are computed from, in the
// query PostgreSQL (schema "projector" by default): one table per source with
// the key, the slim row as jsonb, the source position and a deleted flag.
type state struct {
	pool   *pgxpool.Pool
	schema string
}

func (s *state) table(src *projections.Source) string {
	return pgx.Identifier{s.schema, "state_" + src.Name}.Sanitize()
}

func (s *state) ident(name string) string { return pgx.Identifier{s.schema, name}.Sanitize() }

// applied is a state row a change was applied to, with its data before.
type applied struct {
	Key        string
	New, Old   map[string]any // Old nil when the row did not exist (or was deleted)
	NewDeleted bool
	// Unbased: the change is a patch of a row the state does not hold
	// (never seen, or deleted before it), and nothing was written. Applied
	// to nothing it would make a document of only the changed fields.
	Unbased bool
	// Unviable: the change is a patch whose $set steps into an array of
	// the stored row with a field name, an update MongoDB refuses (see
	// patchFunction), or a patch at the very position of the row's
	// tombstone (an update before the delete in one MongoDB transaction,
	// replayed), and nothing was written: stale.
	Unviable bool
	// Oversized: the change is a patch that makes values the state's
	// indexes cannot hold (see checkIndexed), and nothing was written.
	Oversized bool
}

// apply writes changes (distinct keys) to a source's state in tx, each only
// if its position is not older than the stored one, and returns the rows it
// changed with their previous data.
//
// It first takes the state lock (see lockState), in the same round trip.
func (s *state) apply(ctx context.Context, tx pgx.Tx, src *projections.Source, changes []rowChange, shape rowShape) (out []applied, err error) {
	input, err := gojson.MarshalWithOption(changes, gojson.UnorderedMap())
	if err != nil {
		return nil, fmt.Errorf("encode state changes of %s: %w", src.Name, err)
	}
	if len(input) > maxApplyInput && len(changes) > 1 {
		// jsonb takes 256 MB at most: a truncate of a big table (its
		// deletes) would be refused on every retry. Its keys are
		// distinct, so halves apply alike.
		half := len(changes) / 2
		first, err := s.apply(ctx, tx, src, changes[:half], shape)
		if err != nil {
			return nil, err
		}
		rest, err := s.apply(ctx, tx, src, changes[half:], shape)
		return append(first, rest...), err
	}
	q := s.applySQL(src, shape, changes)
	// Two statements, so that the upsert's snapshot is taken once the lock
	// is held, and one round trip.
	b := &pgx.Batch{}
	s.lockState(b)
	b.Queue(q, input)
	br := tx.SendBatch(ctx, b)
	defer func() {
		if cerr := br.Close(); cerr != nil && err == nil {
			out, err = nil, fmt.Errorf("apply changes to state of %s: %w", src.Name, cerr)
		}
	}()
	if _, err := br.Exec(); err != nil {
		return nil, fmt.Errorf("lock state: %w", err)
	}
	rows, err := br.Query()
	if err != nil {
		return nil, fmt.Errorf("apply changes to state of %s: %w", src.Name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var a applied
		var newData, oldData []byte
		if err := rows.Scan(&a.Key, &newData, &a.NewDeleted, &oldData, &a.Unbased, &a.Unviable, &a.Oversized); err != nil {
			return nil, err
		}
		if a.New, err = decodeRow(newData); err != nil {
			return nil, err
		}
		if a.Old, err = decodeRow(oldData); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// rowShape says which columns of the rows it changed apply returns: nil
// is the whole row. Only what the caller reads crosses the wire and is
// decoded: the columns that find the affected documents, and whole new
// rows only where a document is built from them.
type rowShape struct {
	Old, New []string
	// SkipOld: the columns of the old row the caller reads are key
	// columns, the same in the new row, so the old row is not returned.
	SkipOld bool
}

// slim is the SQL of the jsonb row expr cut down to cols (nil: all of it).
// A missing column comes out as null, which pick treats alike.
func slim(expr string, cols []string) string {
	if cols == nil {
		return expr
	}
	values := make([]string, len(cols))
	for i, c := range cols {
		values[i] = expr + "->" + quoteLiteral(c)
	}
	return JSONObjectSQL(cols, values)
}

// applySQL is the statement apply runs. Where the old rows tell nothing
// the new ones do not (shape.SkipOld) and no change builds on the stored
// row (a merge or a patch), it is a plain upsert: reading the old rows
// first costs about as much as the upsert itself.
func (s *state) applySQL(src *projections.Source, shape rowShape, changes []rowChange) string {
	if shape.SkipOld && !slices.ContainsFunc(changes, func(c rowChange) bool { return c.Merge || c.Patch }) {
		return `INSERT INTO ` + s.table(src) + ` AS s (key, data, pos_hi, pos_lo, deleted, updated_at)
		SELECT key, data, pos_hi, pos_lo, deleted, now()
		FROM jsonb_to_recordset($1::jsonb) AS x(key text, data jsonb, pos_hi bigint, pos_lo bigint, deleted boolean)
		ON CONFLICT (key) DO UPDATE SET data = excluded.data, pos_hi = excluded.pos_hi,
			pos_lo = excluded.pos_lo, deleted = excluded.deleted, updated_at = now()
		WHERE ` + replaces + `
		RETURNING s.key, ` + slim("s.data", shape.New) + `, s.deleted, NULL::jsonb, false, false, false`
	}
	t := s.table(src)
	return `WITH input AS (
		SELECT * FROM jsonb_to_recordset($1::jsonb)
			AS x(key text, data jsonb, pos_hi bigint, pos_lo bigint, deleted boolean, merge boolean, unchanged text[],
				patch boolean, patch_set jsonb, patch_unset text[], patch_truncate jsonb)
	), old AS (
		SELECT o.key, o.data, o.deleted, o.pos_hi, o.pos_lo FROM ` + t + ` o
		WHERE o.key IN (SELECT key FROM input) FOR UPDATE
	), new AS (
		SELECT i.key,
			CASE
				-- A patch at its tombstone's own position: an update before
				-- the delete in one MongoDB transaction (one clusterTime),
				-- replayed: stale (see applied.Unviable), not unbased.
				WHEN i.patch AND o.deleted AND (o.pos_hi, o.pos_lo) = (i.pos_hi, i.pos_lo) THEN NULL
				WHEN i.patch THEN ` + s.ident("jsonb_patch") + `(` + s.ident("jsonb_truncate") + `(
					CASE WHEN o.key IS NOT NULL AND NOT o.deleted THEN o.data ELSE i.data END, i.patch_truncate), i.patch_set, i.patch_unset)
				WHEN i.merge AND o.key IS NOT NULL AND NOT o.deleted THEN ` + mergeSQL + `
				ELSE i.data END AS data,
			i.pos_hi, i.pos_lo, i.deleted,
			-- A patch of no row, or of one deleted before it (see applied.Unbased).
			coalesce(i.patch AND (o.key IS NULL OR (o.deleted AND (o.pos_hi, o.pos_lo) < (i.pos_hi, i.pos_lo))), false) AS unbased,
			i.patch
		FROM input i LEFT JOIN old o USING (key)
	), checked AS (
		-- A patch whose row the indexes cannot hold (see applied.Oversized).
		SELECT *, coalesce(patch AND ` + oversizedSQL(src, "data") + `, false) AS oversized FROM new
	), up AS (
		INSERT INTO ` + t + ` AS s (key, data, pos_hi, pos_lo, deleted, updated_at)
		SELECT key, data, pos_hi, pos_lo, deleted, now() FROM checked WHERE NOT unbased AND data IS NOT NULL AND NOT oversized
		ON CONFLICT (key) DO UPDATE SET data = excluded.data, pos_hi = excluded.pos_hi,
			pos_lo = excluded.pos_lo, deleted = excluded.deleted, updated_at = now()
		WHERE ` + replaces + `
		RETURNING s.key, s.data, s.deleted
	)
	SELECT up.key, ` + slim("up.data", shape.New) + `, up.deleted, CASE WHEN o.deleted THEN NULL ELSE ` + slim("o.data", shape.Old) + ` END, false, false, false
	FROM up LEFT JOIN old o USING (key)
	UNION ALL SELECT key, NULL, false, NULL, true, false, false FROM checked WHERE unbased
	-- A patch jsonb_patch found not viable (see applied.Unviable).
	UNION ALL SELECT key, NULL, false, NULL, false, true, false FROM checked WHERE NOT unbased AND data IS NULL
	UNION ALL SELECT key, NULL, false, NULL, false, false, true FROM checked WHERE NOT unbased AND data IS NOT NULL AND oversized`
}

// replaces is the position guard of applySQL, debezium.Position.Replaces
// in SQL: the stored row s gives way to excluded unless excluded is older,
// and an initial snapshot's read gives way to a streamed change that names
// no committed LSN whatever their LSNs.
var replaces = `((s.pos_hi, s.pos_lo) <= (excluded.pos_hi, excluded.pos_lo)
			OR (s.pos_lo = ` + strconv.Itoa(debezium.SnapshotLo) + ` AND excluded.pos_lo = 0 AND excluded.pos_hi > 0))`

// lockState serializes the transactions that change the state, across
// every instance sharing it, until tx ends. Without it two instances miss
// each other's changes: one inserts an item and looks for its order, which
// the other is inserting at the same time, so neither sees the other's row
// (READ COMMITTED shows neither uncommitted write); the order is then
// recomputed before the item is committed and nothing recomputes it again.
// In turn, a transaction that holds the lock sees every change committed
// before it, so the documents it finds affected are all there are, and
// their recompute reads them: the batch's own, in the same transaction, and
// any other after its commit. It is taken before the transaction's first
// write, so it cannot deadlock with a row lock; taking it again in the same
// transaction returns at once. Sink writes, recomputes of pending docs and
// rebuilds stay parallel.
func (s *state) lockState(b *pgx.Batch) {
	b.Queue(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "projector.state:"+s.schema)
}

// stateRow is a row read back from a source's state.
type stateRow struct {
	Key     string
	Data    map[string]any
	Deleted bool
}

// rowsByKey reads the rows with the given keys, deleted ones included.
func (s *state) rowsByKey(ctx context.Context, q querier, src *projections.Source, keys []string) ([]stateRow, error) {
	return s.query(ctx, q, src, `SELECT key, data, deleted FROM `+s.table(src)+` WHERE key = ANY($1)`, keys)
}

// columnIn is a column of a source and the texts of the values one of
// which a row's column must have. A lookup by several columns (a
// composite join, a group_by) matches each with its own values: a
// superset of the rows whose tuples are wanted, which the caller sorts
// out, and for one tuple exactly them.
type columnIn struct {
	col  string
	vals []string
}

// lookupBy collects the values of a lookup by several columns, each value
// once per column.
type lookupBy struct {
	by   []columnIn
	seen []map[string]bool
}

func newLookupBy(cols []string) *lookupBy {
	l := &lookupBy{by: make([]columnIn, len(cols)), seen: make([]map[string]bool, len(cols))}
	for i, c := range cols {
		l.by[i].col = c
		l.seen[i] = map[string]bool{}
	}
	return l
}

// add adds the text v to the values of the i-th column.
func (l *lookupBy) add(i int, v string) {
	if !l.seen[i][v] {
		l.seen[i][v] = true
		l.by[i].vals = append(l.by[i].vals, v)
	}
}

// rowsByColumn reads the live rows whose columns have their values in by (as
// text), with only the columns cols (nil: all), at most limit (0: all).
func (s *state) rowsByColumn(ctx context.Context, q querier, src *projections.Source, by []columnIn, cols []string, limit int) ([]stateRow, error) {
	sql, args := s.byColumnSQL(src, by, cols)
	if limit > 0 {
		sql += ` LIMIT ` + strconv.Itoa(limit)
	}
	return s.query(ctx, q, src, sql, args...)
}

// byColumnSQL selects the live rows whose columns have their values in by,
// with only the columns cols (nil: all), and gives its arguments. Each
// column is a literal, not a parameter, so that the planner matches the
// expression index on (data->>'col'), one per column (combined by a bitmap
// when several are selective); the key is the text of the column's value,
// as data->>'col' is, where the key finds the rows.
func (s *state) byColumnSQL(src *projections.Source, by []columnIn, cols []string) (string, []any) {
	sql := `SELECT key, ` + slim("data", cols) + `, deleted FROM ` + s.table(src) + ` WHERE NOT deleted`
	args := make([]any, len(by))
	for i, c := range by {
		expr := `data->>` + quoteLiteral(c.col)
		if src.KeyedBy(c.col) {
			expr = `key`
		}
		sql += ` AND ` + expr + ` = ANY($` + strconv.Itoa(i+1) + `)`
		args[i] = c.vals
	}
	return sql, args
}

func (s *state) query(ctx context.Context, q querier, src *projections.Source, sql string, args ...any) ([]stateRow, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("read state of %s: %w", src.Name, err)
	}
	defer rows.Close()
	var out []stateRow
	for rows.Next() {
		var r stateRow
		var data []byte
		if err := rows.Scan(&r.Key, &data, &r.Deleted); err != nil {
			return nil, err
		}
		if r.Data, err = decodeRow(data); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// maxApplyInput bounds the JSON of the changes one statement of apply
// writes to a state table, well under jsonb's 256 MB.
var maxApplyInput = 64 << 20

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// decodeRow decodes a jsonb row keeping numbers exact.
func decodeRow(b []byte) (map[string]any, error) {
	if len(b) == 0 {
		return nil, nil
	}
	// parseRow: the same results as encoding/json (numbers kept exact as
	// json.Number), several times faster on the rows every batch reads.
	m, err := parseRow(b)
	if err != nil {
		return nil, fmt.Errorf("decode state row: %w", err)
	}
	return m, nil
}

// update runs fn in a PostgreSQL transaction.
func (s *state) update(ctx context.Context, fn func(stateTx) error) error {
	return retryTx(ctx, s.pool, func(tx pgx.Tx) error { return fn(pgTx{s: s, tx: tx}) })
}

func (s *state) snapshot(ctx context.Context, fn func(stateTx) error) error {
	// A revision another transaction took since the snapshot makes it
	// start again: a short window, but a rebuild's chunk of a thousand
	// docs under a busy stream meets it often, so it tries longer.
	return retryTxOpts(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead}, 100, func(tx pgx.Tx) error { return fn(pgTx{s: s, tx: tx}) })
}

// retryTx runs fn in a transaction, again when PostgreSQL reports a
// deadlock or serialization failure between concurrent instances.
func retryTx(ctx context.Context, pool *pgxpool.Pool, fn func(pgx.Tx) error) error {
	return retryTxOpts(ctx, pool, pgx.TxOptions{}, 10, fn)
}

func retryTxOpts(ctx context.Context, pool *pgxpool.Pool, opts pgx.TxOptions, attempts int, fn func(pgx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := pgx.BeginTxFunc(ctx, pool, opts, fn)
		var pgErr *pgconn.PgError
		if err != nil && attempt < attempts && errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001") {
			continue
		}
		return err
	}
}

// pgTx is a transaction of the PostgreSQL state.
type pgTx struct {
	s  *state
	tx pgx.Tx
}

func (t pgTx) apply(ctx context.Context, src *projections.Source, changes []rowChange, shape rowShape) ([]applied, error) {
	return t.s.apply(ctx, t.tx, src, changes, shape)
}

func (t pgTx) rowsByKey(ctx context.Context, src *projections.Source, keys []string) ([]stateRow, error) {
	return t.s.rowsByKey(ctx, t.tx, src, keys)
}

func (t pgTx) truncations(ctx context.Context) (out map[string]debezium.Position, err error) {
	b := &pgx.Batch{}
	t.s.lockState(b)
	b.Queue(`SELECT source, pos_hi, pos_lo FROM ` + t.s.ident("truncates"))
	br := t.tx.SendBatch(ctx, b)
	defer func() {
		if cerr := br.Close(); cerr != nil && err == nil {
			out, err = nil, fmt.Errorf("read truncates: %w", cerr)
		}
	}()
	if _, err := br.Exec(); err != nil {
		return nil, fmt.Errorf("lock state: %w", err)
	}
	rows, err := br.Query()
	if err != nil {
		return nil, fmt.Errorf("read truncates: %w", err)
	}
	defer rows.Close()
	out = map[string]debezium.Position{}
	for rows.Next() {
		var src string
		var pos debezium.Position
		if err := rows.Scan(&src, &pos.Hi, &pos.Lo); err != nil {
			return nil, err
		}
		out[src] = pos
	}
	return out, rows.Err()
}

func (t pgTx) truncate(ctx context.Context, src *projections.Source, pos debezium.Position) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO `+t.s.ident("truncates")+` AS t (source, pos_hi, pos_lo) VALUES ($1, $2, $3)
		ON CONFLICT (source) DO UPDATE SET pos_hi = excluded.pos_hi, pos_lo = excluded.pos_lo, updated_at = now()
		WHERE (t.pos_hi, t.pos_lo) < (excluded.pos_hi, excluded.pos_lo)`, src.Name, pos.Hi, pos.Lo)
	if err != nil {
		return fmt.Errorf("record a truncate of %s: %w", src.Name, err)
	}
	return nil
}

// liveBefore walks the primary key from after, so a truncate's chunks cost
// the rows they read, not those the chunks before them deleted.
func (t pgTx) liveBefore(ctx context.Context, src *projections.Source, pos debezium.Position, after *string, limit int) ([]stateRow, error) {
	from, cmp := "", ">="
	if after != nil {
		from, cmp = *after, ">"
	}
	return t.s.query(ctx, t.tx, src, `SELECT key, data, deleted FROM `+t.s.table(src)+`
		WHERE key `+cmp+` $3 AND NOT deleted AND (pos_hi, pos_lo) < ($1::bigint, $2::bigint)
		ORDER BY key LIMIT $4`, pos.Hi, pos.Lo, from, limit)
}

func (t pgTx) rowsByColumn(ctx context.Context, src *projections.Source, by []columnIn, cols []string, limit int) ([]stateRow, error) {
	return t.s.rowsByColumn(ctx, t.tx, src, by, cols, limit)
}

var cursors atomic.Int64

// eachRow reads the rows through a cursor: the transaction holds the state
// lock, so they stay as they are between the pages, and fn may write.
func (t pgTx) eachRow(ctx context.Context, src *projections.Source, by []columnIn, cols []string, page int, fn func([]stateRow) error) (err error) {
	sql, args := t.s.byColumnSQL(src, by, cols)
	return t.eachPage(ctx, src, sql, args, page, fn)
}

// eachPage calls fn with the state rows of src sql reads (key, data,
// deleted), page of them at a time, through a cursor.
func (t pgTx) eachPage(ctx context.Context, src *projections.Source, sql string, args []any, page int, fn func([]stateRow) error) error {
	// Named apart: a page's fn may read through a cursor of its own.
	cursor := "projector_rows_" + strconv.FormatInt(cursors.Add(1), 10)
	if _, err := t.tx.Exec(ctx, `DECLARE `+cursor+` NO SCROLL CURSOR FOR `+sql, args...); err != nil {
		return fmt.Errorf("read state of %s: %w", src.Name, err)
	}
	for {
		rows, err := t.s.query(ctx, t.tx, src, `FETCH `+strconv.Itoa(page)+` FROM `+cursor)
		if err != nil || len(rows) == 0 {
			if err == nil {
				_, err = t.tx.Exec(ctx, `CLOSE `+cursor)
			}
			return err
		}
		if err := fn(rows); err != nil {
			return err
		}
	}
}
