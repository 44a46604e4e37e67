// Package postgres is the PostgreSQL sink: it keeps each view in a table,
// one generation at a time, behind a reader-facing SQL view, and writes
// batches with one rev-guarded upsert statement per view.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/internal/pgpages"
	"github.com/projectorhq/projector/sinks"
)

// Sink writes view docs to PostgreSQL.
type Sink struct {
	pool  *pgxpool.Pool
	views map[string]*view
	list  []*view // in configuration order, for Migrate and Purge
	stale atomic.Uint64
}

// New validates the views and returns a sink for them; it does no I/O
// (Migrate creates the tables).
func New(pool *pgxpool.Pool, views []View) (*Sink, error) {
	if pool == nil {
		return nil, fmt.Errorf("postgres sink: %w: no connection pool", ErrInvalidView)
	}
	s := &Sink{pool: pool, views: make(map[string]*view, len(views))}
	var errs []error
	readers := map[string]string{}
	for _, v := range views {
		c, err := compile(v)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, dup := s.views[c.Name]; dup {
			errs = append(errs, fmt.Errorf("view %q: %w: declared twice", c.Name, ErrInvalidView))
			continue
		}
		reader := c.reader().Sanitize()
		if other, dup := readers[reader]; dup {
			errs = append(errs, fmt.Errorf("view %q: %w: table %s is also view %q's", c.Name, ErrInvalidView, reader, other))
			continue
		}
		readers[reader] = c.Name
		s.views[c.Name] = c
		s.list = append(s.list, c)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("postgres sink: %w", err)
	}
	return s, nil
}

// Name identifies the sink in logs, metrics and errors.
func (s *Sink) Name() string { return "postgres" }

// Stale is how many docs were skipped because the store already held the
// same or a newer rev (including older duplicates within a batch).
func (s *Sink) Stale() uint64 { return s.stale.Load() }

// Write applies a batch: one statement per view, each doc guarded by its
// rev. It returns nil, a *sinks.BatchError naming the docs PostgreSQL
// rejected (found by splitting the failed statement), or a plain error when
// the batch as a whole could not be written; views of the batch written
// before such an error stay written, which a retry repeats harmlessly.
func (s *Sink) Write(ctx context.Context, docs []sinks.Doc) error {
	failed := map[int]error{}
	byView := map[*view][]int{}
	var order []*view
	for i := range docs {
		v := s.views[docs[i].View]
		if v == nil {
			failed[i] = sinks.Refused(fmt.Errorf("view %q: %w", docs[i].View, ErrUnknownView))
			continue
		}
		if _, ok := byView[v]; !ok {
			order = append(order, v)
		}
		byView[v] = append(byView[v], i)
	}
	for _, v := range order {
		b := s.encode(v, docs, byView[v], failed)
		rejected := map[int]error{}
		if err := s.apply(ctx, v, b, b.rows, rejected); err != nil {
			return fmt.Errorf("postgres sink: view %q: write %d docs: %w", v.Name, len(b.rows), err)
		}
		if err := s.retryRejected(ctx, v, b, rejected); err != nil {
			return err
		}
		for i, err := range rejected {
			if conflict(err) {
				err = fmt.Errorf("%w: %w", sinks.ErrConflict, err)
			}
			failed[i] = sinks.Refused(err)
		}
	}
	if len(failed) > 0 {
		return &sinks.BatchError{Failed: failed}
	}
	return nil
}

// retryRejected writes the rows PostgreSQL rejected again, alone, in
// passes, while a pass writes any: a row may have been rejected only for
// what the rest of the batch held then, a unique value another doc gives
// up later in id order (or along a chain of them). Rows rejected for each
// other's stored values (a swap, a cycle) then go together through
// writeTogether. What is left in rejected after that is rejected for good.
func (s *Sink) retryRejected(ctx context.Context, v *view, b *batch, rejected map[int]error) error {
	for progress := len(rejected) > 0; progress; {
		progress = false
		for _, r := range b.rows {
			if _, ok := rejected[r.index]; !ok {
				continue
			}
			again := map[int]error{}
			if err := s.apply(ctx, v, b, []row{r}, again); err != nil {
				return fmt.Errorf("postgres sink: view %q: write doc %q again: %w", v.Name, r.id, err)
			}
			if err, ok := again[r.index]; ok {
				rejected[r.index] = err
				continue
			}
			delete(rejected, r.index)
			progress = true
		}
	}
	var conflicting []row
	for _, r := range b.rows {
		if err, ok := rejected[r.index]; ok && conflict(err) {
			conflicting = append(conflicting, r)
		}
	}
	if len(conflicting) > 1 {
		if err := s.writeTogether(ctx, v, b, conflicting, rejected); err != nil {
			return fmt.Errorf("postgres sink: view %q: write %d conflicting docs together: %w", v.Name, len(conflicting), err)
		}
	}
	for _, r := range b.rows {
		if _, ok := rejected[r.index]; !ok {
			continue
		}
		var newer bool
		err := s.pool.QueryRow(ctx, v.newer, b.payload([]row{r})).Scan(&newer)
		if err != nil && rowError(err) {
			// Its key is what the store refuses (a value the key column
			// cannot hold): no row holds it, and the doc stays refused.
			continue
		}
		if err != nil {
			return fmt.Errorf("postgres sink: view %q: revision of doc %q: %w", v.Name, r.id, err)
		}
		if newer {
			// Stale: the rev guard would have skipped it had the row's
			// constraints not been checked first.
			delete(rejected, r.index)
			s.stale.Add(1)
		}
	}
	return nil
}

// writeTogether writes rows that each collide, alone, with a unique value
// another of them holds in the table, in one transaction: first their
// stored rows older than the incoming rev leave the declared unique
// indexes (which are partial, WHERE NOT _deleted) by being marked deleted,
// then the rows are upserted alone, in passes, each under a savepoint, by
// the same rev guard as any write, so an outdated doc never wins. The
// stored rows of those still rejected then return to the indexes as they
// were; if one cannot, because a written row took its value, the
// transaction is rolled back and every row stays rejected, as does every
// row when PostgreSQL rejects the transaction for a row's content.
// Written rows leave rejected; those still rejected get their new error.
func (s *Sink) writeTogether(ctx context.Context, v *view, b *batch, rows []row, rejected map[int]error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	setAside := map[int]bool{}
	for _, r := range rows {
		tag, err := tx.Exec(ctx, v.setAside, b.payload([]row{r}))
		if err != nil {
			if rowError(err) {
				return nil
			}
			return err
		}
		setAside[r.index] = tag.RowsAffected() > 0
	}
	left := map[int]error{}
	for _, r := range rows {
		left[r.index] = rejected[r.index]
	}
	var stale uint64
	for progress := true; progress; {
		progress = false
		for _, r := range rows {
			if _, ok := left[r.index]; !ok {
				continue
			}
			sp, err := tx.Begin(ctx)
			if err != nil {
				return err
			}
			tag, err := sp.Exec(ctx, v.upsert, b.payload([]row{r}))
			if err != nil {
				if rbErr := sp.Rollback(ctx); rbErr != nil {
					return rbErr
				}
				if !rowError(err) {
					return err
				}
				left[r.index] = fmt.Errorf("view %q doc %q: %w", v.Name, r.id, err)
				continue
			}
			if err := sp.Commit(ctx); err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				stale++
			}
			delete(left, r.index)
			progress = true
		}
	}
	if len(left) == len(rows) {
		return nil // nothing written: roll back
	}
	for _, r := range rows {
		if _, ok := left[r.index]; !ok || !setAside[r.index] {
			continue
		}
		if _, err := tx.Exec(ctx, v.restore, b.payload([]row{r})); err != nil {
			if rowError(err) {
				return nil
			}
			return err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		if rowError(err) { // a deferred constraint
			return nil
		}
		return err
	}
	for _, r := range rows {
		if err, ok := left[r.index]; ok {
			rejected[r.index] = err
		} else {
			delete(rejected, r.index)
		}
	}
	s.stale.Add(stale)
	return nil
}

// encode keeps the highest rev of each doc id (ON CONFLICT cannot touch a
// row twice in one statement) and encodes those docs, sorted by id so that
// concurrent writers lock rows in the same order and cannot deadlock each
// other. Docs that cannot be encoded go to failed.
func (s *Sink) encode(v *view, docs []sinks.Doc, idx []int, failed map[int]error) *batch {
	best := make(map[string]int, len(idx))
	winners := make([]int, 0, len(idx))
	for _, i := range idx {
		w, seen := best[docs[i].ID]
		switch {
		case !seen:
			best[docs[i].ID] = len(winners)
			winners = append(winners, i)
		case docs[i].Rev > docs[winners[w]].Rev:
			winners[w] = i
			s.stale.Add(1)
		default:
			s.stale.Add(1)
		}
	}
	slices.SortFunc(winners, func(a, b int) int { return strings.Compare(docs[a].ID, docs[b].ID) })
	b := &batch{rows: make([]row, 0, len(winners))}
	enc := encoder{buf: make([]byte, 0, 256*len(winners))}
	enc.buf = append(enc.buf, '[')
	for _, i := range winners {
		if len(b.rows) > 0 {
			enc.buf = append(enc.buf, ',')
		}
		start := len(enc.buf)
		if err := enc.row(v, &docs[i]); err != nil {
			enc.buf = enc.buf[:max(start-1, 1)] // drop the comma too
			failed[i] = sinks.Refused(fmt.Errorf("view %q doc %q: %w", v.Name, docs[i].ID, err))
			continue
		}
		b.rows = append(b.rows, row{index: i, id: docs[i].ID, start: start, end: len(enc.buf)})
	}
	b.json = append(enc.buf, ']')
	return b
}

// apply runs the upsert for rows. When PostgreSQL rejects a value, the
// statement is split in halves until the rejected rows are isolated, so a
// batch with k bad rows costs about k·log2(n) extra statements; the rows
// written on the way are written for good, which the rev guard makes safe.
func (s *Sink) apply(ctx context.Context, v *view, b *batch, rows []row, failed map[int]error) error {
	if len(rows) == 0 {
		return nil
	}
	if size := payloadSize(rows); size > maxPayload {
		// Split before sending: a parameter past PostgreSQL's 1 GB message
		// is a client error, not a row's, and would be retried whole
		// forever; past jsonb's 256 MB, PostgreSQL refuses the statement.
		if len(rows) == 1 {
			failed[rows[0].index] = fmt.Errorf("view %q doc %q: %d bytes of JSON, more than one statement takes (%d)", v.Name, rows[0].id, size, maxPayload)
			return nil
		}
		mid := len(rows) / 2
		if err := s.apply(ctx, v, b, rows[:mid], failed); err != nil {
			return err
		}
		return s.apply(ctx, v, b, rows[mid:], failed)
	}
	tag, err := s.pool.Exec(ctx, v.upsert, b.payload(rows))
	if err == nil {
		s.stale.Add(uint64(int64(len(rows)) - tag.RowsAffected()))
		return nil
	}
	if !rowError(err) {
		return err
	}
	if len(rows) == 1 {
		failed[rows[0].index] = fmt.Errorf("view %q doc %q: %w", v.Name, rows[0].id, err)
		return nil
	}
	mid := len(rows) / 2
	if err := s.apply(ctx, v, b, rows[:mid], failed); err != nil {
		return err
	}
	return s.apply(ctx, v, b, rows[mid:], failed)
}

// maxPayload bounds the JSON of one statement: well under jsonb's 256 MB,
// which jsonb_to_recordset's parameter must fit, and PostgreSQL's 1 GB
// message.
var maxPayload = 128 << 20 // a var: tests lower it

func payloadSize(rows []row) int {
	n := 2
	for _, r := range rows {
		n += r.end - r.start + 1
	}
	return n
}

// rowError tells errors caused by some row's content (a value the column
// type rejects, a unique index violated, an index entry too large) from
// errors of the statement as a whole (connection lost, table missing,
// deadlock), which split statements would only repeat.
func rowError(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || len(pgErr.Code) < 2 {
		return false
	}
	switch pgErr.Code[:2] {
	case "21", // cardinality violation: two rows of the batch share a key
		"22", // data exception: invalid input, out of range, bad JSON
		"23", // integrity constraint violation
		"54": // program limit exceeded, e.g. index row size
		return true
	}
	return false
}

// conflict tells a row rejected for another row, a unique or exclusion
// constraint, which the other row may release later.
func conflict(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "23505" || pgErr.Code == "23P01")
}

// PurgeTombstones deletes the tombstones older than olderThan and returns how many
// it deleted. After that, an older upsert replayed for such a doc would
// recreate it, so the retention must outlast any replay.
func (s *Sink) PurgeTombstones(ctx context.Context, olderThan time.Duration) (int64, error) {
	if olderThan < 0 {
		return 0, fmt.Errorf("postgres sink: purge: negative retention %s", olderThan)
	}
	var total int64
	var errs []error
	for _, v := range s.list {
		if v.Lost {
			continue // left to a rebuild (see View.Lost)
		}
		n, err := s.purge(ctx, v.physical(v.Generation), olderThan)
		total += n
		if err != nil {
			// The other views are purged whatever this one's trouble.
			errs = append(errs, fmt.Errorf("postgres sink: purge view %q: %w", v.Name, err))
		}
	}
	return total, errors.Join(errs...)
}

// purge deletes a table's old tombstones a chunk at a time, skipping the
// rows a batch is writing: one statement over a backlog would hold every
// tombstone a live batch recreates until it commits, and deadlock with a
// batch rewriting two of them. The chunks walk the table a range of pages
// at a time (pgpages), so that a purge reads the table about once
// whatever its backlog: there is no index to find tombstones by age,
// which would cost every write (an index on _updated_at makes no update
// HOT).
func (s *Sink) purge(ctx context.Context, table pgx.Identifier, olderThan time.Duration) (int64, error) {
	sql := purgeSQL(table)
	return pgpages.Sweep(ctx, s.pool, table, purgePages, purgeChunk, func(ctx context.Context, from, to pgtype.TID) (int64, pgtype.TID, error) {
		var n int64
		var last pgtype.TID
		err := s.pool.QueryRow(ctx, sql, olderThan.Seconds(), purgeChunk, from, to).Scan(&n, &last)
		return n, last, err
	})
}

// purgeSQL deletes up to $2 tombstones older than $1 seconds among the
// rows from position $3 up to $4, and returns how many and the last one's
// position.
func purgeSQL(table pgx.Identifier) string {
	t := table.Sanitize()
	return "WITH gone AS (DELETE FROM " + t + " WHERE ctid IN (SELECT ctid FROM " + t +
		" WHERE " + pgpages.Cond(3) + " AND " + quote(colDeleted) + " AND " + quote(colUpdatedAt) + " < now() - make_interval(secs => $1)" +
		" LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING ctid) SELECT count(*), max(ctid) FROM gone"
}

// purgeChunk is how many tombstones one statement of PurgeTombstones
// deletes, and purgePages how many pages its chunks read at most (8 MB).
var (
	purgeChunk int64 = 5000
	purgePages int64 = 1024
)
