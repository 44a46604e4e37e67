package rebuild

// --from source re-reads a view's PostgreSQL source tables directly, in one
// consistent snapshot per source database, and applies the rows to the
// state before the fill; rows the state holds but the source no longer has
// are deleted. Handing over to the stream without losing or double-applying
// a change rests on positions:
//
//  1. S = pg_current_wal_lsn() and X = the next transaction id are read
//     together; then the snapshot waits until every transaction older than
//     X has ended. A transaction that gets its id later writes its WAL after
//     S, so every change with an LSN below S is committed before the
//     snapshot is taken: the snapshot sees it.
//  2. The rows are read in one REPEATABLE READ transaction, by key range,
//     and applied as snapshot reads at position S (through the engine, so
//     every view affected is recomputed, as for a streamed change).
//  3. A streamed change the snapshot does not see has an LSN at or above S
//     and wins over the snapshot row; one it does see, replayed later with
//     an LSN below S, is skipped as older; one at or above S it also saw is
//     applied again, and the stream's later changes of that row follow it in
//     order, so the state converges on the same row.
//  4. A state row whose key the snapshot lacks is deleted at position S,
//     which the state refuses when the row was written from a change at or
//     above S (created after the snapshot). Once the read is applied, a
//     row it read holds a position at or above S (its read's, or a newer
//     change's), but for a row that could not be projected (a dead letter)
//     and one a connector's initial snapshot moved back (any streamed
//     change replaces such a read, whatever its LSN): so the live rows
//     left below S are the candidates, and the snapshot, still open, is
//     asked a page of them at a time which it has. What the rebuild holds
//     is so bounded by its pages, not by the table's rows.

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/projector"
)

// resnapshot re-reads every source of the view from its database.
func (r *run) resnapshot(ctx context.Context) error {
	v := r.env.Plan.View(r.gen.View)
	var missing []string
	sources := viewSources(v)
	for _, s := range sources {
		if r.sourceURL(s.Name) == "" {
			missing = append(missing, s.Name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("--from source: no database URL for source %s (--source-url NAME=URL; PostgreSQL sources only)", strings.Join(missing, ", "))
	}
	release, err := r.useLiveRoutes(ctx)
	if err != nil {
		return err
	}
	defer release()
	for _, s := range sources {
		if err := r.snapshotSource(ctx, s); err != nil {
			return fmt.Errorf("--from source: source %s: %w", s.Name, err)
		}
	}
	return nil
}

func (r *run) sourceURL(name string) string {
	if u := r.opts.SourceURLs[name]; u != "" {
		return u
	}
	return r.opts.SourceURLs[""]
}

// viewSources lists the sources a view reads, root first.
func viewSources(v *projections.View) []*projections.Source {
	out := []*projections.Source{v.Root}
	var walk func([]*projections.Field)
	walk = func(fields []*projections.Field) {
		for _, f := range fields {
			if f.Join != nil {
				if !slices.Contains(out, f.Join.Source) {
					out = append(out, f.Join.Source)
				}
				walk(f.Join.Fields)
			}
		}
	}
	walk(v.Fields)
	return out
}

// sourceTable is the table a Debezium topic prefix.schema.table names.
func sourceTable(topic string) (pgx.Identifier, error) {
	parts := strings.Split(topic, ".")
	if len(parts) < 3 {
		return nil, fmt.Errorf("topic %q is not prefix.schema.table", topic)
	}
	return pgx.Identifier{parts[len(parts)-2], parts[len(parts)-1]}, nil
}

// snapshotSource reads one source table in one snapshot and applies it.
// The snapshot is exported and shared by one reader per key range (as many
// as --workers), so the table is read in parallel; the engine applies the
// pages one at a time, as it applies batches.
func (r *run) snapshotSource(ctx context.Context, src *projections.Source) error {
	if len(src.Key) == 0 {
		return fmt.Errorf("the source declares no key columns")
	}
	table, err := sourceTable(src.Topic)
	if err != nil {
		return err
	}
	conn, err := r.connectSource(ctx, src)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.Background()) }()

	// 1. The position, then no transaction older than it still running.
	var lsn int64
	var xmax uint64
	if err := conn.QueryRow(ctx, `SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint,
		pg_snapshot_xmax(pg_current_snapshot())::text::bigint`).Scan(&lsn, &xmax); err != nil {
		return fmt.Errorf("read the WAL position: %w", err)
	}
	if err := r.positionsAhead(ctx, src, lsn); err != nil {
		return err
	}
	if err := waitTransactions(ctx, conn, xmax, r.opts.WaitTimeout); err != nil {
		return err
	}
	// 2. One snapshot for the whole table, exported to the readers; it
	// stays valid while this transaction is open.
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	var snapshot string
	if err := tx.QueryRow(ctx, `SELECT pg_export_snapshot()`).Scan(&snapshot); err != nil {
		return fmt.Errorf("export the snapshot: %w", err)
	}
	q := newSourceQuery(src, table, r.opts.Chunk)
	if err := q.ownTypes(ctx, tx, src); err != nil {
		return fmt.Errorf("read the column types of %s: %w", table.Sanitize(), err)
	}
	bounds, err := q.bounds(ctx, tx, r.opts.Workers)
	if err != nil {
		return fmt.Errorf("split %s by key: %w", table.Sanitize(), err)
	}
	r.opts.Progress.Phase("source", 0)
	defer r.opts.Progress.Done()

	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pages := make(chan []sourceRow, r.opts.Workers)
	errs := make(chan error, len(bounds)+1)
	var wg sync.WaitGroup
	for i := 0; i <= len(bounds); i++ {
		var lo, hi []string
		if i > 0 {
			lo = bounds[i-1]
		}
		if i < len(bounds) {
			hi = bounds[i]
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.readRange(rctx, src, q, snapshot, lo, hi, pages); err != nil {
				errs <- err
				cancel()
			}
		}()
	}
	go func() { wg.Wait(); close(pages) }()

	// 3. Applied as snapshot reads at the position.
	var applyErr error
	for page := range pages {
		if applyErr != nil {
			continue // drain, so the readers end
		}
		recs := make([]projector.Record, 0, len(page))
		for _, row := range page {
			rec, err := snapshotRecord(src, row.data, lsn)
			if err != nil {
				applyErr = err
				break
			}
			recs = append(recs, rec)
		}
		if applyErr == nil {
			_, applyErr = r.apply(ctx, recs)
		}
		if applyErr != nil {
			cancel()
			continue
		}
		r.res.SourceRows += int64(len(recs))
		r.opts.Progress.Add(int64(len(recs)))
	}
	close(errs)
	if applyErr != nil {
		return applyErr
	}
	for err := range errs {
		return fmt.Errorf("read %s: %w", table.Sanitize(), err)
	}
	// 4. What the source no longer has.
	return r.deleteUnseen(ctx, src, tx, q, lsn)
}

// sourceRow is one row read from a source table, as JSON.
type sourceRow struct{ data []byte }

// sourceQuery reads one source table by keyset pages in the key's own
// order, which its index serves.
type sourceQuery struct {
	table   pgx.Identifier
	row     string   // the SQL of the row as jsonb (see ownTypes)
	keyCols []string // the key columns' names
	keys    []string // the key columns, as compared
	casts   []string // each key parameter's cast
	keyList string
	chunk   int
}

func newSourceQuery(src *projections.Source, table pgx.Identifier, chunk int) *sourceQuery {
	q := &sourceQuery{table: table, chunk: chunk, keyCols: src.Key}
	for _, k := range src.Key {
		key, cast := "t."+quoteIdent(k), "::text"
		if t, ok := src.Columns[k]; ok && plainType.MatchString(t.String()) {
			cast += "::" + t.String()
		} else {
			key += "::text" // a key column without a declared type is compared as text
		}
		q.keys = append(q.keys, key)
		q.casts = append(q.casts, cast)
	}
	q.keyList = strings.Join(q.keys, ", ")
	return q
}

// ownTypes reads the table's column types. The row is read from them, as
// Debezium sends each column (sourceRowSQL). And it compares in its own
// type each key column the file declares text (or not at all) that the
// table holds as another: char(n), whose padding a text comparison drops,
// so that a row the table has would not be found; an enum, citext or
// inet, which have no comparison with text. The values compared are the
// state's texts and the table's own, both of which cast to the column's
// type.
func (q *sourceQuery) ownTypes(ctx context.Context, tx pgx.Tx, src *projections.Source) error {
	// A domain's values are sent as its root type's (through domains of
	// domains), with the typmod the last domain gives it, as Debezium
	// resolves them.
	rows, err := tx.Query(ctx, `SELECT a.attname, format_type(a.atttypid, a.atttypmod), r.typ
		FROM pg_attribute a CROSS JOIN LATERAL (
			WITH RECURSIVE d(oid, typtype, typbasetype, typtypmod, mod) AS (
				SELECT ty.oid, ty.typtype, ty.typbasetype, ty.typtypmod, a.atttypmod FROM pg_type ty WHERE ty.oid = a.atttypid
				UNION ALL
				SELECT b.oid, b.typtype, b.typbasetype, b.typtypmod, d.typtypmod FROM d JOIN pg_type b ON b.oid = d.typbasetype WHERE d.typtype = 'd')
			SELECT format_type(d.oid, d.mod) AS typ FROM d WHERE d.typtype <> 'd') r
		WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, q.table.Sanitize())
	if err != nil {
		return err
	}
	var columns []tableColumn
	types := map[string]string{}
	for rows.Next() {
		var typ string
		var c tableColumn
		if err := rows.Scan(&c.name, &typ, &c.typ); err != nil {
			return err
		}
		columns = append(columns, c)
		types[c.name] = typ
	}
	if err := rows.Err(); err != nil {
		return err
	}
	q.row = sourceRowSQL(src, columns)
	for i, k := range q.keyCols {
		typ, ok := types[k]
		declared, typed := src.Columns[k]
		if typed && declared.Name != "text" && declared.Name != "varchar" || declared.Array {
			continue // compared in its declared type, as the state holds it
		}
		if !ok || typ == "text" || strings.HasPrefix(typ, "character varying") {
			continue
		}
		q.keys[i], q.casts[i] = "t."+quoteIdent(k), "::text::"+typ
	}
	q.keyList = strings.Join(q.keys, ", ")
	return nil
}

// where adds "(keys) op (values)" to conds, with its arguments.
func (q *sourceQuery) where(conds []string, args []any, op string, values []string) ([]string, []any) {
	ps := make([]string, len(values))
	for i, v := range values {
		args = append(args, v)
		ps[i] = "$" + strconv.Itoa(len(args)) + q.casts[i]
	}
	return append(conds, "("+q.keyList+") "+op+" ("+strings.Join(ps, ", ")+")"), args
}

// page reads the rows after cursor (nil: from lo) below hi (nil: no end).
func (q *sourceQuery) page(ctx context.Context, tx pgx.Tx, lo, hi, cursor []string) ([]sourceRow, []string, error) {
	var conds []string
	var args []any
	switch {
	case cursor != nil:
		conds, args = q.where(conds, args, ">", cursor)
	case lo != nil:
		conds, args = q.where(conds, args, ">=", lo)
	}
	if hi != nil {
		conds, args = q.where(conds, args, "<", hi)
	}
	sql := `SELECT ` + q.row + `, ARRAY[` + textList(q.keys) + `] FROM ` + q.table.Sanitize() + ` t`
	if len(conds) > 0 {
		sql += ` WHERE ` + strings.Join(conds, " AND ")
	}
	sql += ` ORDER BY ` + q.keyList + ` LIMIT ` + strconv.Itoa(q.chunk)
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var out []sourceRow
	var last []string
	for rows.Next() {
		var row sourceRow
		if err := rows.Scan(&row.data, &last); err != nil {
			return nil, nil, err
		}
		out = append(out, row)
	}
	return out, last, rows.Err()
}

// bounds splits the table into up to n key ranges of about equal size:
// the keys that start the second and later ranges, in key order.
func (q *sourceQuery) bounds(ctx context.Context, tx pgx.Tx, n int) ([][]string, error) {
	if n <= 1 {
		return nil, nil
	}
	var count int64
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+q.table.Sanitize()).Scan(&count); err != nil {
		return nil, err
	}
	step := (count + int64(n) - 1) / int64(n)
	if count < int64(2*q.chunk) || step == 0 {
		return nil, nil // one reader is as fast
	}
	rows, err := tx.Query(ctx, `SELECT k FROM (
		SELECT ARRAY[`+textList(q.keys)+`] AS k, row_number() OVER (ORDER BY `+q.keyList+`) AS i
		FROM `+q.table.Sanitize()+` t) s
		WHERE i > 1 AND (i - 1) % $1 = 0 ORDER BY i`, step)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[[]string])
}

// connectSource connects to src's database, its values read as Debezium
// sends them whatever the database's or role's defaults: floats in their
// shortest exact digits (as stack.PoolConfig's sessions), bytea in hex.
func (r *run) connectSource(ctx context.Context, src *projections.Source) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, r.sourceURL(src.Name))
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	if _, err := conn.Exec(ctx, `SET extra_float_digits = 1; SET bytea_output = 'hex'`); err != nil {
		_ = conn.Close(context.Background())
		return nil, fmt.Errorf("connect: %w", err)
	}
	return conn, nil
}

// readRange reads the rows of one key range in the exported snapshot and
// sends them page by page.
func (r *run) readRange(ctx context.Context, src *projections.Source, q *sourceQuery, snapshot string, lo, hi []string, pages chan<- []sourceRow) error {
	conn, err := r.connectSource(ctx, src)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.Background()) }()
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	if _, err := tx.Exec(ctx, `SET TRANSACTION SNAPSHOT `+quoteLiteral(snapshot)); err != nil {
		return fmt.Errorf("import the snapshot: %w", err)
	}
	var cursor []string
	for {
		rows, last, err := q.page(ctx, tx, lo, hi, cursor)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		select {
		case pages <- rows:
		case <-ctx.Done():
			return ctx.Err()
		}
		cursor = last
	}
}

// plainType is a type name safe to write into SQL: words, digits, spaces
// and a modifier, as the configuration declares them.
var plainType = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_ ]*(\([0-9, ]+\))?$`)

// waitTransactions waits until no transaction with an id below xmax runs.
func waitTransactions(ctx context.Context, conn *pgx.Conn, xmax uint64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var xmin uint64
		if err := conn.QueryRow(ctx, `SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint`).Scan(&xmin); err != nil {
			return fmt.Errorf("wait for running transactions: %w", err)
		}
		if xmin >= xmax {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("transactions older than the snapshot position still run after %s (xmin %d < %d)", timeout, xmin, xmax)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// snapshotRecord is a source row as a Debezium snapshot read at lsn.
func snapshotRecord(src *projections.Source, data []byte, lsn int64) (projector.Record, error) {
	var row map[string]any
	d := json.NewDecoder(strings.NewReader(string(data)))
	d.UseNumber()
	if err := d.Decode(&row); err != nil {
		return projector.Record{}, fmt.Errorf("decode a row: %w", err)
	}
	key := make(map[string]any, len(src.Key))
	for _, k := range src.Key {
		key[k] = row[k]
	}
	return readRecord(src, key, row, lsn)
}

// readRecord encodes a snapshot read of row at lsn as the schemaless JSON
// Debezium's PostgreSQL connector writes, so that the source's decoder
// gives its values the types the stream gives them. It is marked as a
// read at its LSN (debezium.ReadAtLSN), ordered by that LSN alone: a
// snapshot's read gives way to a streamed change without a committed LSN
// whatever their LSNs (debezium.Position.Replaces), which would let a
// change from before S replace this row.
//
// A source read as unwrapped (ExtractNewRecordState) gets the row with the
// SMT's metadata instead: its decoder reads an envelope as a row whose
// columns are named op, source and after.
func readRecord(src *projections.Source, key, row map[string]any, lsn int64) (projector.Record, error) {
	ev := map[string]any{
		"op": "r", "ts_ms": time.Now().UnixMilli(), "transaction": nil, "before": nil, "after": row,
		"source": map[string]any{"connector": "postgresql", "snapshot": debezium.ReadAtLSN, "lsn": lsn},
	}
	if src.Format == "unwrapped" {
		// Named as the source's SMT names them (add.fields.prefix).
		p := cmp.Or(src.Unwrapped.FieldsPrefix, "__")
		ev = make(map[string]any, len(row)+4)
		maps.Copy(ev, row)
		ev[p+"op"], ev[p+"lsn"], ev[p+"snapshot"], ev[p+"connector"] = "r", lsn, debezium.ReadAtLSN, "postgresql"
	}
	k, err := json.Marshal(key)
	if err != nil {
		return projector.Record{}, err
	}
	v, err := json.Marshal(ev)
	if err != nil {
		return projector.Record{}, err
	}
	return projector.Record{Topic: src.Topic, Partition: -1, Offset: -1, Key: k, Value: v}, nil
}

// apply hands records to the engine, reports the records it refused and
// returns them.
func (r *run) apply(ctx context.Context, recs []projector.Record) ([]projector.DeadLetter, error) {
	dead, err := r.env.Engine.Process(ctx, recs)
	if err != nil {
		return nil, err
	}
	for _, d := range dead {
		r.res.DeadLetters++
		if r.res.DeadLetters <= 3 {
			r.opts.Log.Warn("a source row could not be projected", "topic", d.Record.Topic, "key", string(d.Record.Key), "err", d.Err)
		}
	}
	return dead, nil
}
