package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"hash/fnv"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/projectorhq/projector/internal/pglock"
)

// indexLock serialises the concurrent index builds of instances starting
// together. It is a session lock (CONCURRENTLY cannot run in a
// transaction), distinct from migrateLock and only ever polled for: a
// statement waiting on it would hold a snapshot, which the concurrent build
// of the instance holding it would wait for.
const indexLock int64 = 0x70726f6a5f696478 // "proj_idx"

// tableIndex is a declared index as the sink creates it on one
// generation's table.
type tableIndex struct {
	table pgx.Identifier
	name  string // see indexName
	// legacy is the name versions before generation-aware naming gave it;
	// Migrate renames such an index on upgrade.
	legacy string
	// on is what follows CREATE [UNIQUE] INDEX [CONCURRENTLY] <name>.
	on     string
	unique bool
	// obsolete marks an index the view no longer declares, to be dropped
	// concurrently rather than built.
	obsolete bool
}

// indexName names an index of a generation's table. The hash covers the
// whole table name as well as the definition: the table name is cut to
// fit, index names are unique per schema, and two tables that share the
// cut (generations of a long-named view, or two long-named views) must not
// get the same names.
func indexName(table string, ix Index) string {
	h := fnv.New32a()
	h.Write([]byte(table))
	h.Write([]byte{0})
	hashDefinition(h, ix)
	return indexPrefix(table) + fmt.Sprintf("%08x_idx", h.Sum32())
}

// legacyIndexName is indexName as it was before it hashed the table name:
// the same for every table with the same cut.
func legacyIndexName(table string, ix Index) string {
	h := fnv.New32a()
	hashDefinition(h, ix)
	return indexPrefix(table) + fmt.Sprintf("%08x_idx", h.Sum32())
}

func hashDefinition(h hash.Hash32, ix Index) {
	for _, f := range ix.Fields {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	if ix.Unique {
		h.Write([]byte("unique"))
	}
}

func indexPrefix(table string) string {
	max := maxIdentifier - len("_00000000_idx")
	for len(table) > max {
		_, size := utf8.DecodeLastRuneInString(table)
		table = table[:len(table)-size]
	}
	return table + "_"
}

var indexSuffix = regexp.MustCompile(`^[0-9a-f]{8}_idx$`)

// isSinkIndex reports whether an index of the table was named by
// indexName or legacyIndexName. Only the indexes of that very table are
// ever tested: with a cut table name, another table's indexes match too.
func isSinkIndex(table, name string) bool {
	rest, ok := strings.CutPrefix(name, indexPrefix(table))
	return ok && indexSuffix.MatchString(rest)
}

// declaredIndexes are the view's indexes on a generation's table. They
// are partial: tombstones are never looked up by readers, and must not
// count against a unique index.
func declaredIndexes(v *view, table pgx.Identifier) ([]tableIndex, error) {
	types := map[string]string{}
	for _, c := range v.Columns {
		types[c.Name] = c.Type
	}
	out := make([]tableIndex, 0, len(v.Indexes))
	for _, ix := range v.Indexes {
		exprs := make([]string, 0, len(ix.Fields))
		for _, f := range ix.Fields {
			e, err := indexExpr(f, types)
			if err != nil {
				return nil, err
			}
			exprs = append(exprs, e)
		}
		out = append(out, tableIndex{
			table: table, name: indexName(table[1], ix), legacy: legacyIndexName(table[1], ix), unique: ix.Unique,
			on: " ON " + table.Sanitize() + " (" + strings.Join(exprs, ", ") + ") WHERE NOT " + quote(colDeleted),
		})
	}
	return out, nil
}

// createSQL creates the index. There is no IF NOT EXISTS: a name taken by
// another table's index must fail loudly, not leave this table without it.
func (ix tableIndex) createSQL(concurrently bool) string {
	sql := "CREATE "
	if ix.unique {
		sql += "UNIQUE "
	}
	sql += "INDEX "
	if concurrently {
		sql += "CONCURRENTLY "
	}
	return sql + quote(ix.name) + ix.on
}

func (ix tableIndex) ident() pgx.Identifier { return pgx.Identifier{ix.table[0], ix.name} }

// tableIndexes lists the indexes of one table, by name, with whether each
// is valid (a failed concurrent build leaves an invalid one behind).
func tableIndexes(ctx context.Context, tx pgx.Tx, table pgx.Identifier) (map[string]bool, error) {
	rows, err := tx.Query(ctx, `SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		WHERE i.indrelid = to_regclass($1)`, table.Sanitize())
	if err != nil {
		return nil, fmt.Errorf("list indexes of %s: %w", table.Sanitize(), err)
	}
	live := map[string]bool{}
	var name string
	var valid bool
	_, err = pgx.ForEachRow(rows, []any{&name, &valid}, func() error {
		live[name] = valid
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list indexes of %s: %w", table.Sanitize(), err)
	}
	return live, nil
}

// ensureIndexes brings the table's indexes to the declared ones, inside
// the migration's transaction, and returns what is left to do outside it.
// An index found under its legacy name is renamed. On a table created by
// this transaction the missing indexes are created at once, the table
// being empty; on an existing one they are returned, to be built
// concurrently once the transaction has committed (see buildIndexes), so
// that a large table is not locked against writes while they build, and so
// are the sink's indexes the view no longer declares, to be dropped
// concurrently. An invalid index under the declared name is returned too:
// the build drops and rebuilds it.
func ensureIndexes(ctx context.Context, tx pgx.Tx, v *view, table pgx.Identifier, fresh bool) ([]tableIndex, error) {
	declared, err := declaredIndexes(v, table)
	if err != nil {
		return nil, err
	}
	live, err := tableIndexes(ctx, tx, table)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	var pending []tableIndex
	for _, ix := range declared {
		if want[ix.name] { // declared twice
			continue
		}
		want[ix.name] = true
		valid, ok := live[ix.name]
		switch {
		case ok && valid:
		case !ok && ix.legacy != ix.name && live[ix.legacy]:
			if _, err := tx.Exec(ctx, "ALTER INDEX "+pgx.Identifier{table[0], ix.legacy}.Sanitize()+" RENAME TO "+quote(ix.name)); err != nil {
				return nil, fmt.Errorf("rename index %q: %w", ix.legacy, err)
			}
			delete(live, ix.legacy)
		case fresh:
			if _, err := tx.Exec(ctx, ix.createSQL(false)); err != nil {
				return nil, fmt.Errorf("create index %q: %w", ix.name, err)
			}
		default:
			pending = append(pending, ix)
		}
	}
	for name := range live {
		if want[name] || !isSinkIndex(table[1], name) {
			continue
		}
		// Dropped after the transaction too: DROP INDEX in it would hold
		// the table's strongest lock until it commits, and first queue
		// readers behind any long query on the table.
		pending = append(pending, tableIndex{table: table, name: name, obsolete: true})
	}
	return pending, nil
}

// buildIndexes builds indexes on existing tables with CREATE INDEX
// CONCURRENTLY, which lets writers go on. It holds indexLock, and looks at
// each index again under it: another instance may have built it meanwhile,
// or left an invalid one behind, which is dropped and built again.
func (s *Sink) buildIndexes(ctx context.Context, pending []tableIndex) error {
	if len(pending) == 0 {
		return nil
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("build indexes: %w", err)
	}
	defer conn.Release()
	if err := pglock.Poll(ctx, conn, "SELECT pg_try_advisory_lock($1)", indexLock); err != nil {
		return fmt.Errorf("build indexes: lock: %w", err)
	}
	defer func() {
		// Released with the session anyway, should this fail.
		_, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", indexLock)
	}()
	for _, ix := range pending {
		if ix.obsolete {
			if err := dropConcurrently(ctx, conn, ix); err != nil {
				return fmt.Errorf("drop index %q: %w", ix.name, err)
			}
			continue
		}
		if err := buildIndex(ctx, conn, ix); err != nil {
			return fmt.Errorf("build index %q: %w", ix.name, err)
		}
	}
	return nil
}

func buildIndex(ctx context.Context, conn *pgxpool.Conn, ix tableIndex) error {
	var onTable, valid bool
	err := conn.QueryRow(ctx, `SELECT i.indrelid = to_regclass($2), i.indisvalid FROM pg_index i
		WHERE i.indexrelid = to_regclass($1)`, ix.ident().Sanitize(), ix.table.Sanitize()).Scan(&onTable, &valid)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return err
	case !onTable:
		return fmt.Errorf("the name is taken by an index of another table")
	case valid:
		return nil
	default:
		if err := dropConcurrently(ctx, conn, ix); err != nil {
			return fmt.Errorf("drop invalid index: %w", err)
		}
	}
	for attempt := 0; ; attempt++ {
		_, err := conn.Exec(ctx, ix.createSQL(true))
		if err == nil {
			return nil
		}
		// A failed build leaves an invalid index, which would only be in
		// the way of the next attempt.
		if derr := dropConcurrently(context.WithoutCancel(ctx), conn, ix); derr != nil {
			return errors.Join(err, derr)
		}
		var pgErr *pgconn.PgError
		// A concurrent build waits for every older snapshot, and another
		// instance's migration may be waiting for it in turn: PostgreSQL
		// then picks a deadlock victim, and trying again is the way out.
		if attempt == 4 || !errors.As(err, &pgErr) || pgErr.Code != "40P01" {
			return err
		}
	}
}

func dropConcurrently(ctx context.Context, conn *pgxpool.Conn, ix tableIndex) error {
	_, err := conn.Exec(ctx, "DROP INDEX CONCURRENTLY IF EXISTS "+ix.ident().Sanitize())
	return err
}
