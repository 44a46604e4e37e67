package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/projectorhq/projector/internal/pglock"
)

// migrateLock serialises DDL between instances starting together, which
// would otherwise race on CREATE … IF NOT EXISTS. It is an arbitrary
// constant, only required not to clash with other advisory locks.
const migrateLock int64 = 0x70726f6a5f6d6967 // "proj_mig"

// Migrate creates or updates every view's active generation: its table,
// indexes and reader view. It is idempotent. A column added to a view is
// added to the table; a removed column, a changed type or a changed primary
// key is reported as an error wrapping ErrNeedsRebuild and leaves that view
// untouched. A column a newer file added online is kept and written NULL
// (see View.Recorded). An index added to an existing table is built
// concurrently after the rest has committed (see ensureIndexes). Problems
// of all views are reported together.
func (s *Sink) Migrate(ctx context.Context) error {
	pending, err := s.MigrateTables(ctx)
	if err != nil {
		return err
	}
	return s.BuildIndexes(ctx, pending)
}

// PendingIndexes are the indexes MigrateTables found missing on existing
// tables, for BuildIndexes to build.
type PendingIndexes struct {
	views   []string
	indexes [][]tableIndex
}

// MigrateTables is Migrate but for the indexes of existing tables, which it
// returns. BuildIndexes must not run while the caller holds a transaction
// open on the database: CREATE INDEX CONCURRENTLY waits for every older
// snapshot, that transaction's too, which would wait for it in turn. It
// runs before the sink writes: it sets the writes up for the columns a
// newer file added (see ForeignColumns).
func (s *Sink) MigrateTables(ctx context.Context) (PendingIndexes, error) {
	var errs []error
	var out PendingIndexes
	for _, v := range s.list {
		if v.Lost {
			continue
		}
		var pending []tableIndex
		err := s.inTx(ctx, func(tx pgx.Tx) error {
			if err := checkReadersBehind(ctx, tx, v); err != nil {
				return err
			}
			var foreign []string
			var err error
			if pending, foreign, err = ensureGeneration(ctx, tx, v, v.Generation, v.Recorded); err != nil {
				return err
			}
			v.keep(foreign)
			return pointReaders(ctx, tx, v, v.Generation)
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("view %q: %w", v.Name, err))
			continue
		}
		if len(pending) > 0 {
			out.views = append(out.views, v.Name)
			out.indexes = append(out.indexes, pending)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return PendingIndexes{}, fmt.Errorf("postgres sink: migrate: %w", err)
	}
	return out, nil
}

// BuildIndexes builds the indexes MigrateTables left pending, concurrently
// (see buildIndexes).
func (s *Sink) BuildIndexes(ctx context.Context, p PendingIndexes) error {
	var errs []error
	for i, view := range p.views {
		if err := s.buildIndexes(ctx, p.indexes[i]); err != nil {
			errs = append(errs, fmt.Errorf("view %q: %w", view, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("postgres sink: migrate: %w", err)
	}
	return nil
}

// Unfit reports, without changing anything, why the table of a view's
// generation cannot take the documents of the view's definition as it
// stands: columns it lacks, or differences only a rebuild makes. It is nil
// when the table takes them or does not exist.
func (s *Sink) Unfit(ctx context.Context, viewName string) error {
	v, ok := s.views[viewName]
	if !ok {
		return fmt.Errorf("postgres sink: unknown view %q", viewName)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(ctx) }() // the temporary table goes with it
	table := v.physical(v.Generation)
	existing, err := tableColumns(ctx, tx, table)
	if err != nil || len(existing) == 0 {
		return err
	}
	d, err := diffTable(ctx, tx, v, table, existing, nil)
	if err == nil && len(d.add) > 0 {
		names := make([]string, len(d.add))
		for i, c := range d.add {
			names[i] = strconv.Quote(c.Name)
		}
		err = fmt.Errorf("table %s lacks column %s", table.Sanitize(), strings.Join(names, ", "))
	}
	return err
}

// Check reports, without changing anything, what Migrate would refuse: an
// error wrapping ErrNeedsRebuild for every view whose stored table differs
// from its definition other than by added columns, its own or a newer
// file's (which ForeignColumns then lists).
func (s *Sink) Check(ctx context.Context) error {
	var errs []error
	for _, v := range s.list {
		err := func() error {
			tx, err := s.pool.Begin(ctx)
			if err != nil {
				return err
			}
			defer func() { _ = tx.Rollback(ctx) }() // the temporary table goes with it
			existing, err := tableColumns(ctx, tx, v.physical(v.Generation))
			if err != nil || len(existing) == 0 {
				return err
			}
			d, err := diffTable(ctx, tx, v, v.physical(v.Generation), existing, v.Recorded)
			if err == nil {
				v.keep(d.foreign)
			}
			return err
		}()
		if err != nil {
			errs = append(errs, fmt.Errorf("view %q: %w", v.Name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("postgres sink: check: %w", err)
	}
	return nil
}

// CreateGeneration creates (or updates, as Migrate does) the table of one
// generation of a view without showing it to readers: a rebuild fills it
// and then calls Activate.
func (s *Sink) CreateGeneration(ctx context.Context, viewName string, generation int) error {
	v, err := s.generation(viewName, generation)
	if err != nil {
		return err
	}
	var pending []tableIndex
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		// Only the served generation's recorded definition is known: a
		// column it does not declare is refused on another.
		pending, _, err = ensureGeneration(ctx, tx, v, generation, nil)
		return err
	})
	if err == nil {
		err = s.buildIndexes(ctx, pending)
	}
	if err != nil {
		return fmt.Errorf("postgres sink: view %q: create generation %d: %w", viewName, generation, err)
	}
	return nil
}

// Activate points the view's reader view at a generation, in one
// transaction: readers see either the old generation or the new one.
func (s *Sink) Activate(ctx context.Context, viewName string, generation int) error {
	return s.inTx(ctx, func(tx pgx.Tx) error { return s.ActivateTx(ctx, tx, viewName, generation) })
}

// ActivateTx is Activate inside the caller's transaction, so that readers
// move when, and only if, whatever else it records commits (a rebuild's
// swap in the registry). When transactions using the reader view keep its
// lock, it fails with an error wrapping ErrReadersBusy and PostgreSQL's
// lock_not_available (55P03) after a short wait: the caller rolls back, so
// that readers are not queued behind it, and tries again later.
func (s *Sink) ActivateTx(ctx context.Context, tx pgx.Tx, viewName string, generation int) error {
	v, err := s.generation(viewName, generation)
	if err != nil {
		return err
	}
	if err := activate(ctx, tx, v, generation); err != nil {
		return fmt.Errorf("postgres sink: view %q: activate generation %d: %w", viewName, generation, err)
	}
	return nil
}

func activate(ctx context.Context, tx pgx.Tx, v *view, generation int) error {
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrateLock); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	cols, err := tableColumns(ctx, tx, v.physical(generation))
	if err != nil {
		return err
	}
	if len(cols) == 0 {
		return fmt.Errorf("table %s: %w", v.physical(generation).Sanitize(), ErrNoGeneration)
	}
	return pointReaders(ctx, tx, v, generation)
}

func (s *Sink) generation(viewName string, generation int) (*view, error) {
	v := s.views[viewName]
	if v == nil {
		return nil, fmt.Errorf("postgres sink: view %q: %w", viewName, ErrUnknownView)
	}
	if generation < 1 {
		return nil, fmt.Errorf("postgres sink: view %q: generation %d: %w", viewName, generation, ErrInvalidView)
	}
	if n := len(physicalName(v.Table, generation)); n > maxIdentifier {
		return nil, fmt.Errorf("postgres sink: view %q: generation %d: %w: table name too long", viewName, generation, ErrInvalidView)
	}
	return v, nil
}

// inTx runs fn in a transaction holding migrateLock, again when it was
// chosen as a deadlock victim: another instance's concurrent index build
// or migration (a rolling deploy of versions that declare different
// indexes) may hold what this one waits for; fn is idempotent, and the
// other side has gone on once this one rolled back. Again too, for up to
// ReadersLockWait, when a reader view stayed held by long transactions
// (see boundedLock).
func (s *Sink) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pglock.RetryBusy(ctx, ReadersLockWait, nil, func() error {
		for attempt := 1; ; attempt++ {
			err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrateLock); err != nil {
					return fmt.Errorf("lock: %w", err)
				}
				return fn(tx)
			})
			var pgErr *pgconn.PgError
			if err == nil || attempt == 5 || !errors.As(err, &pgErr) || pgErr.Code != "40P01" { // deadlock_detected
				return err
			}
		}
	})
}

// column is a column as the catalog describes it.
type column struct {
	name, typ string // typ as format_type prints it
}

// tableColumns lists a table's columns in order; none if it does not exist.
func tableColumns(ctx context.Context, tx pgx.Tx, table pgx.Identifier) ([]column, error) {
	rows, err := tx.Query(ctx, `SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
		WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped ORDER BY attnum`, table.Sanitize())
	if err != nil {
		return nil, fmt.Errorf("read columns of %s: %w", table.Sanitize(), err)
	}
	cols, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (column, error) {
		var c column
		err := r.Scan(&c.name, &c.typ)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("read columns of %s: %w", table.Sanitize(), err)
	}
	return cols, nil
}

// ensureGeneration creates the generation's table and indexes, or brings an
// existing table up to the view definition where ALTER TABLE can; it
// returns the indexes left to build concurrently (see ensureIndexes), and
// the table's columns a newer file added online, as told by the recorded
// definition's columns (see diffTable).
func ensureGeneration(ctx context.Context, tx pgx.Tx, v *view, generation int, recorded []string) ([]tableIndex, []string, error) {
	table := v.physical(generation)
	// CREATE SCHEMA IF NOT EXISTS checks the CREATE privilege on the
	// database even when the schema exists, so only a missing one is created.
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT to_regnamespace($1) IS NOT NULL", quote(v.Schema)).Scan(&exists); err != nil {
		return nil, nil, fmt.Errorf("look up schema: %w", err)
	}
	if !exists {
		if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+quote(v.Schema)); err != nil {
			return nil, nil, fmt.Errorf("create schema: %w", err)
		}
	}
	existing, err := tableColumns(ctx, tx, table)
	if err != nil {
		return nil, nil, err
	}
	fresh := len(existing) == 0
	var foreign []string
	if fresh {
		if _, err := tx.Exec(ctx, createTableSQL(v, table)); err != nil {
			return nil, nil, fmt.Errorf("create table %s: %w", table.Sanitize(), err)
		}
	} else if foreign, err = alterTable(ctx, tx, v, table, existing, recorded); err != nil {
		return nil, nil, err
	}
	pending, err := ensureIndexes(ctx, tx, v, table, fresh)
	return pending, foreign, err
}

func createTableSQL(v *view, table pgx.Identifier) string {
	defs := make([]string, 0, len(v.Columns)+4)
	for _, c := range v.Columns {
		defs = append(defs, quote(c.Name)+" "+c.Type)
	}
	keys := make([]string, 0, len(v.ID))
	for _, id := range v.ID {
		keys = append(keys, quote(id))
	}
	defs = append(defs,
		quote(colRev)+" bigint NOT NULL",
		quote(colDeleted)+" boolean NOT NULL DEFAULT false",
		quote(colUpdatedAt)+" timestamptz NOT NULL DEFAULT now()",
		"PRIMARY KEY ("+strings.Join(keys, ", ")+")")
	return "CREATE TABLE " + table.Sanitize() + " (\n\t" + strings.Join(defs, ",\n\t") + "\n)"
}

// alterTable adds the declared columns the table lacks, and returns the
// foreign ones; see diffTable. ADD COLUMN takes the table's ACCESS
// EXCLUSIVE lock, which waits for every transaction that read the table or
// its reader view, and queues the readers and the writes that come after
// behind it: so it waits briefly, as the reader view's redefinition does
// (see boundedLock), and the caller tries its transaction again. The
// reader view, when it reads the table, is locked first, in readers' order
// (see lockReadersOf).
func alterTable(ctx context.Context, tx pgx.Tx, v *view, table pgx.Identifier, existing []column, recorded []string) ([]string, error) {
	d, err := diffTable(ctx, tx, v, table, existing, recorded)
	if err != nil || len(d.add) == 0 {
		return d.foreign, err
	}
	err = boundedLock(ctx, tx, table.Sanitize(), func(tx pgx.Tx) error {
		if err := lockReadersOf(ctx, tx, v, table); err != nil {
			return err
		}
		return addColumns(ctx, tx, table, d.add)
	})
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", table.Sanitize(), err)
	}
	return d.foreign, nil
}

func addColumns(ctx context.Context, tx pgx.Tx, table pgx.Identifier, add []Column) error {
	for _, c := range add {
		if _, err := tx.Exec(ctx, "ALTER TABLE "+table.Sanitize()+" ADD COLUMN "+quote(c.Name)+" "+c.Type); err != nil {
			return fmt.Errorf("add column %q: %w", c.Name, err)
		}
	}
	return nil
}

// tableDiff is how an existing table differs from the view definition
// where no rebuild is needed.
type tableDiff struct {
	add     []Column // declared columns the table lacks
	foreign []string // columns a newer file added online (see addedOnline)
}

// diffTable compares an existing table with the view definition. It
// returns the declared columns the table lacks and, given the columns of
// the recorded definition, those a newer file added online; it refuses
// every other difference: those need the data rewritten, which is a
// rebuild.
func diffTable(ctx context.Context, tx pgx.Tx, v *view, table pgx.Identifier, existing []column, recorded []string) (tableDiff, error) {
	var d tableDiff
	declared, err := canonicalTypes(ctx, tx, v.Columns)
	if err != nil {
		return d, err
	}
	have := map[string]string{}
	for _, c := range existing {
		have[c.name] = c.typ
	}
	var problems []error
	for _, c := range existing {
		switch c.name {
		case colRev, colDeleted, colUpdatedAt:
			continue
		}
		_, ok := declared[c.name]
		switch {
		case ok:
		case addedOnline(c.name, recorded):
			d.foreign = append(d.foreign, c.name)
		default:
			problems = append(problems, fmt.Errorf("column %q was removed: %w", c.name, ErrNeedsRebuild))
		}
	}
	for _, c := range v.Columns {
		typ, ok := have[c.Name]
		switch {
		case !ok:
			d.add = append(d.add, c)
		case typ != declared[c.Name]:
			problems = append(problems, fmt.Errorf("column %q changed type from %s to %s: %w", c.Name, typ, declared[c.Name], ErrNeedsRebuild))
		}
	}
	keys, err := primaryKey(ctx, tx, table)
	if err != nil {
		return tableDiff{}, err
	}
	if !slices.Equal(keys, v.ID) {
		problems = append(problems, fmt.Errorf("primary key changed from (%s) to (%s): %w",
			strings.Join(keys, ", "), strings.Join(v.ID, ", "), ErrNeedsRebuild))
	}
	return d, errors.Join(problems...)
}

// canonicalTypes returns the declared types as format_type prints them
// ("timestamptz" is "timestamp with time zone"), so that a type spelt
// differently but equal is not mistaken for a change: PostgreSQL parses
// them as the casts of a statement it only describes (the type and
// modifier of each result column), which needs no privilege, where a
// temporary table needed TEMPORARY on the database.
func canonicalTypes(ctx context.Context, tx pgx.Tx, cols []Column) (map[string]string, error) {
	if len(cols) == 0 {
		return map[string]string{}, nil
	}
	casts := make([]string, 0, len(cols))
	for _, c := range cols {
		casts = append(casts, "NULL::"+c.Type)
	}
	desc, err := tx.Conn().PgConn().Prepare(ctx, "", "SELECT "+strings.Join(casts, ", "), nil)
	if err != nil {
		return nil, fmt.Errorf("declared types: %w", err)
	}
	oids, mods := make([]uint32, len(desc.Fields)), make([]int32, len(desc.Fields))
	for i, f := range desc.Fields {
		oids[i], mods[i] = f.DataTypeOID, f.TypeModifier
	}
	rows, err := tx.Query(ctx, `SELECT format_type(o, m) FROM unnest($1::oid[], $2::int[]) WITH ORDINALITY AS u(o, m, n) ORDER BY n`, oids, mods)
	if err != nil {
		return nil, fmt.Errorf("declared types: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("declared types: %w", err)
	}
	if len(names) != len(cols) {
		return nil, fmt.Errorf("declared types: %d types for %d columns", len(names), len(cols))
	}
	out := make(map[string]string, len(cols))
	for i, c := range cols {
		out[c.Name] = names[i]
	}
	return out, nil
}

func primaryKey(ctx context.Context, tx pgx.Tx, table pgx.Identifier) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT a.attname FROM pg_index i
		CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)
		JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
		WHERE i.indrelid = to_regclass($1) AND i.indisprimary ORDER BY k.n`, table.Sanitize())
	if err != nil {
		return nil, fmt.Errorf("read primary key of %s: %w", table.Sanitize(), err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("read primary key of %s: %w", table.Sanitize(), err)
	}
	return keys, nil
}
