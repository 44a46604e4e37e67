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
)

// pointReaders makes the reader view select the generation's live rows.
// It uses CREATE OR REPLACE VIEW, which keeps the view's grants, comment
// and the objects that depend on it, and which PostgreSQL allows only when
// the existing columns stay as they are and new ones come last: so the
// column list only ever grows at the end (see readerColumns). When even
// that cannot work, a rebuild having removed or retyped a column, the view
// is dropped and created again, still inside the caller's transaction.
// Readers go on meanwhile: the view's lock is waited for only briefly (see
// boundedLock), and the caller tries its transaction again when it failed
// so.
func pointReaders(ctx context.Context, tx pgx.Tx, v *view, generation int) error {
	reader := v.reader().Sanitize()
	err := boundedLock(ctx, tx, reader, func(tx pgx.Tx) error { return redefineReaders(ctx, tx, v, generation) })
	if err != nil {
		return fmt.Errorf("reader view %s: %w", reader, err)
	}
	return nil
}

func redefineReaders(ctx context.Context, tx pgx.Tx, v *view, generation int) error {
	reader := v.reader().Sanitize()
	cols, err := readerColumns(ctx, tx, v)
	if err != nil {
		return err
	}
	quoted := make([]string, 0, len(cols))
	for _, c := range cols {
		quoted = append(quoted, quote(c))
	}
	opts, err := viewOptions(ctx, tx, reader)
	if err != nil {
		return err
	}
	body := opts + " AS SELECT " + strings.Join(quoted, ", ") + " FROM " + v.physical(generation).Sanitize() +
		" WHERE NOT " + quote(colDeleted)
	err = replaceReaders(ctx, tx, reader, body)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P16" { // invalid_table_definition: a column removed or retyped
		err = recreateReaders(ctx, tx, v, cols, body)
	}
	return err
}

// viewOptions is the WITH clause that keeps the options an operator set on
// the reader view (security_barrier, security_invoker, check_option):
// CREATE OR REPLACE VIEW resets those it is not given. Empty for a view
// without options or none yet.
func viewOptions(ctx context.Context, tx pgx.Tx, reader string) (string, error) {
	var opts []string
	err := tx.QueryRow(ctx, `SELECT coalesce(reloptions, '{}') FROM pg_class WHERE oid = to_regclass($1)`, reader).Scan(&opts)
	if errors.Is(err, pgx.ErrNoRows) || len(opts) == 0 {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read view options: %w", err)
	}
	for i, o := range opts {
		name, value, _ := strings.Cut(o, "=")
		opts[i] = quote(name) + " = " + quoteLiteral(value)
	}
	return " WITH (" + strings.Join(opts, ", ") + ")", nil
}

// readerColumns lists the reader view's columns: those the reader view
// has now and the view still declares, in their places, then the declared
// ones it lacks, in declared order. Readers who select * see new columns
// at the end, whatever their place in the definition or in the table. The
// columns a newer file added online count as declared: its readers keep
// them.
func readerColumns(ctx context.Context, tx pgx.Tx, v *view) ([]string, error) {
	current, err := tableColumns(ctx, tx, v.reader())
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(v.Columns)+len(v.foreign))
	for _, c := range v.Columns {
		names = append(names, c.Name)
	}
	names = append(names, v.foreign...)
	out := make([]string, 0, len(names))
	placed := make(map[string]bool, len(names))
	for _, c := range current {
		if slices.Contains(names, c.name) {
			out = append(out, c.name)
			placed[c.name] = true
		}
	}
	for _, name := range names {
		if !placed[name] {
			out = append(out, name)
		}
	}
	return out, nil
}

// replaceReaders runs CREATE OR REPLACE VIEW in a savepoint, so that the
// caller's transaction survives its failure.
func replaceReaders(ctx context.Context, tx pgx.Tx, reader, body string) error {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return err
	}
	if _, err := sp.Exec(ctx, "CREATE OR REPLACE VIEW "+reader+body); err != nil {
		if rerr := sp.Rollback(ctx); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	return sp.Commit(ctx)
}

// recreateReaders drops the reader view and creates it again, then gives
// it back its grants (table and column ones), its comments and its owner,
// all in the caller's transaction, so that readers never see it without
// them. Views built on the reader view would be dropped with it, which is
// refused rather than done.
func recreateReaders(ctx context.Context, tx pgx.Tx, v *view, cols []string, body string) error {
	reader := v.reader().Sanitize()
	restore, err := readerSettings(ctx, tx, reader, cols)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "DROP VIEW "+reader); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "2BP01" { // dependent_objects_still_exist
			return fmt.Errorf("a column was removed or retyped, so the view must be created again, "+
				"but other objects depend on it; drop them and run again: %w", err)
		}
		return err
	}
	if _, err := tx.Exec(ctx, "CREATE VIEW "+reader+body); err != nil {
		return err
	}
	for _, sql := range restore {
		if _, err := tx.Exec(ctx, sql); err != nil {
			return fmt.Errorf("restore %q: %w", sql, err)
		}
	}
	return nil
}

// readerSettingsSQL writes the statements that give a recreated reader
// view ($1, quoted) what the current one has beyond its query: grants to
// others than the owner, column grants and comments of the columns it
// keeps ($2), its comment, and last its owner when that is not the current
// user (changing the owner carries the grants over to the new owner).
const readerSettingsSQL = `
SELECT sql FROM (
	SELECT 1 AS step, format('GRANT %s ON %s TO %s%s', a.privilege_type, $1::text,
		CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
		CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END) AS sql
	FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
	WHERE c.oid = to_regclass($1) AND a.grantee <> c.relowner
	UNION ALL
	SELECT 2, format('GRANT %s (%s) ON %s TO %s%s', a.privilege_type, quote_ident(att.attname), $1::text,
		CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
		CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
	FROM pg_attribute att CROSS JOIN LATERAL aclexplode(att.attacl) a
	WHERE att.attrelid = to_regclass($1) AND att.attnum > 0 AND att.attname = ANY($2::text[])
	UNION ALL
	SELECT 3, format('COMMENT ON VIEW %s IS %L', $1::text, d.description)
	FROM pg_description d
	WHERE d.objoid = to_regclass($1) AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0
	UNION ALL
	SELECT 4, format('COMMENT ON COLUMN %s.%s IS %L', $1::text, quote_ident(att.attname), d.description)
	FROM pg_description d JOIN pg_attribute att ON att.attrelid = d.objoid AND att.attnum = d.objsubid
	WHERE d.objoid = to_regclass($1) AND d.classoid = 'pg_class'::regclass AND att.attname = ANY($2::text[])
	UNION ALL
	SELECT 5, format('ALTER VIEW %s OWNER TO %s', $1::text, quote_ident(pg_get_userbyid(c.relowner)))
	FROM pg_class c
	WHERE c.oid = to_regclass($1) AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = current_user)
) s ORDER BY step`

// readerSettings reads what recreateReaders restores; see readerSettingsSQL.
func readerSettings(ctx context.Context, tx pgx.Tx, reader string, cols []string) ([]string, error) {
	rows, err := tx.Query(ctx, readerSettingsSQL, reader, cols)
	if err != nil {
		return nil, fmt.Errorf("read grants and comments: %w", err)
	}
	restore, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("read grants and comments: %w", err)
	}
	return restore, nil
}

// checkReadersBehind refuses to point v's readers at v.Generation when they
// read a later generation the registry does not know (v.Registered): a
// rebuild registers its generation before it fills it, and moves readers
// only after, so readers are never on an unknown one unless the registry
// was lost or restored from an older backup. Pointing them at its
// generation would serve them an old or empty table.
func checkReadersBehind(ctx context.Context, tx pgx.Tx, v *view) error {
	rows, err := tx.Query(ctx, `SELECT DISTINCT t.relname FROM pg_rewrite r
		JOIN pg_depend d ON d.objid = r.oid AND d.classid = 'pg_rewrite'::regclass
		JOIN pg_class t ON t.oid = d.refobjid AND t.relkind = 'r'
		WHERE r.ev_class = to_regclass($1)`, v.reader().Sanitize())
	if err != nil {
		return fmt.Errorf("reader view %s: %w", v.reader().Sanitize(), err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("reader view %s: %w", v.reader().Sanitize(), err)
	}
	for _, name := range names {
		n, ok := strings.CutPrefix(name, v.Table+"__g")
		g, err := strconv.Atoi(n)
		if ok && err == nil && g > v.Generation && !slices.Contains(v.Registered, g) {
			return fmt.Errorf("%w: readers of %s read generation %d (%s), the registry serves %d: were projector's registry tables lost or restored from an older backup? Restore them; nothing was changed",
				ErrReadersAhead, v.reader().Sanitize(), g, name, v.Generation)
		}
	}
	return nil
}
