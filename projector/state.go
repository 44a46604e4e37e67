package projector

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/projections"
)

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

// migrate creates projector's own tables. It holds an advisory lock so that
// instances starting together do not race on CREATE … IF NOT EXISTS.
func (s *state) migrate(ctx context.Context, plan *projections.Plan) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('projector.migrate'))`); err != nil {
			return err
		}
		stmts := []string{
			`CREATE SCHEMA IF NOT EXISTS ` + pgx.Identifier{s.schema}.Sanitize(),
			`CREATE TABLE IF NOT EXISTS ` + s.ident("revs") + ` (
				view text NOT NULL, doc_id text NOT NULL, rev bigint NOT NULL,
				PRIMARY KEY (view, doc_id))`,
			// pending holds the documents whose state changed but whose sink
			// writes are not yet acknowledged: written in the same transaction as
			// the state, so a crash between the two loses no recompute.
			`CREATE TABLE IF NOT EXISTS ` + s.ident("pending") + ` (
				id bigserial PRIMARY KEY, view text NOT NULL, doc_id text NOT NULL,
				key jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`,
			`CREATE TABLE IF NOT EXISTS ` + s.ident("watermarks") + ` (
				source text NOT NULL, topic text NOT NULL, partition int NOT NULL,
				"offset" bigint NOT NULL, pos_hi bigint NOT NULL, pos_lo bigint NOT NULL,
				updated_at timestamptz NOT NULL, PRIMARY KEY (topic, partition))`,
			patchFunction(pgx.Identifier{s.schema}.Sanitize()),
		}
		for _, src := range plan.Sources {
			t := s.table(src)
			stmts = append(stmts, `CREATE TABLE IF NOT EXISTS `+t+` (
				key text PRIMARY KEY, data jsonb NOT NULL,
				pos_hi bigint NOT NULL, pos_lo bigint NOT NULL,
				deleted boolean NOT NULL DEFAULT false,
				updated_at timestamptz NOT NULL DEFAULT now())`)
			for _, col := range src.Indexed {
				idx := pgx.Identifier{fmt.Sprintf("state_%s_%s_idx", src.Name, col)}.Sanitize()
				stmts = append(stmts, fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON %s ((data->>%s))`, idx, t, quoteLiteral(col)))
			}
		}
		for _, q := range stmts {
			if _, err := tx.Exec(ctx, q); err != nil {
				return fmt.Errorf("migrate state: %w", err)
			}
		}
		return nil
	})
}

// quoteLiteral quotes a string as an SQL literal, for DDL where parameters
// cannot be bound (index expressions).
func quoteLiteral(s string) string {
	var b bytes.Buffer
	b.WriteByte('\'')
	for _, r := range s {
		if r == '\'' {
			b.WriteByte('\'')
		}
		b.WriteRune(r)
	}
	b.WriteByte('\'')
	return b.String()
}

// rowChange is one change to apply to a source's state.
type rowChange struct {
	Key     string         `json:"key"`
	Data    map[string]any `json:"data"`
	PosHi   int64          `json:"pos_hi"`
	PosLo   int64          `json:"pos_lo"`
	Deleted bool           `json:"deleted"`
	Merge   bool           `json:"merge"` // keep stored columns the change lacks (TOAST)
	// Patch applies PatchSet and PatchUnset (dotted paths) to the stored
	// row instead of replacing it: a partial MongoDB update.
	Patch      bool           `json:"patch,omitempty"`
	PatchSet   map[string]any `json:"patch_set,omitempty"`
	PatchUnset []string       `json:"patch_unset,omitempty"`
}

// applied is a state row a change was applied to, with its data before.
type applied struct {
	Key        string
	New, Old   map[string]any // Old nil when the row did not exist (or was deleted)
	NewDeleted bool
}

// apply writes changes (distinct keys) to a source's state in tx, each only
// if its position is not older than the stored one, and returns the rows it
// changed with their previous data.
//
// It first takes the state lock (see lockState), in the same round trip.
func (s *state) apply(ctx context.Context, tx pgx.Tx, src *projections.Source, changes []rowChange) (out []applied, err error) {
	input, err := json.Marshal(changes)
	if err != nil {
		return nil, fmt.Errorf("encode state changes of %s: %w", src.Name, err)
	}
	t := s.table(src)
	q := `WITH input AS (
		SELECT * FROM jsonb_to_recordset($1::jsonb)
			AS x(key text, data jsonb, pos_hi bigint, pos_lo bigint, deleted boolean, merge boolean,
				patch boolean, patch_set jsonb, patch_unset text[])
	), old AS (
		SELECT o.key, o.data, o.deleted FROM ` + t + ` o
		WHERE o.key IN (SELECT key FROM input) FOR UPDATE
	), new AS (
		SELECT i.key,
			CASE
				WHEN i.patch THEN ` + s.ident("jsonb_patch") + `(
					CASE WHEN o.key IS NOT NULL AND NOT o.deleted THEN o.data ELSE i.data END, i.patch_set, i.patch_unset)
				WHEN i.merge AND o.key IS NOT NULL AND NOT o.deleted THEN o.data || i.data
				ELSE i.data END AS data,
			i.pos_hi, i.pos_lo, i.deleted
		FROM input i LEFT JOIN old o USING (key)
	), up AS (
		INSERT INTO ` + t + ` AS s (key, data, pos_hi, pos_lo, deleted, updated_at)
		SELECT key, data, pos_hi, pos_lo, deleted, now() FROM new
		ON CONFLICT (key) DO UPDATE SET data = excluded.data, pos_hi = excluded.pos_hi,
			pos_lo = excluded.pos_lo, deleted = excluded.deleted, updated_at = now()
		WHERE (s.pos_hi, s.pos_lo) <= (excluded.pos_hi, excluded.pos_lo)
		RETURNING s.key, s.data, s.deleted
	)
	SELECT up.key, up.data, up.deleted, CASE WHEN o.deleted THEN NULL ELSE o.data END
	FROM up LEFT JOIN old o USING (key)`
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
		if err := rows.Scan(&a.Key, &newData, &a.NewDeleted, &oldData); err != nil {
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

// lockState serializes the transactions that change the state, across
// every instance sharing it, until tx ends. Without it two instances miss
// each other's changes: one inserts an item and looks for its order, which
// the other is inserting at the same time, so neither sees the other's row
// (READ COMMITTED shows neither uncommitted write); the order is then
// recomputed before the item is committed and nothing recomputes it again.
// In turn, a transaction that holds the lock sees every change committed
// before it, so the documents it finds affected are all there are, and
// their recompute, which starts after its commit, reads them. It is taken
// before the transaction's first write, so it cannot deadlock with a row
// lock; taking it again in the same transaction returns at once.
// Recomputes and sink writes, the larger part of a batch, stay parallel.
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

// rowsByColumn reads the live rows whose column col has one of vals (as text).
func (s *state) rowsByColumn(ctx context.Context, q querier, src *projections.Source, col string, vals []string) ([]stateRow, error) {
	// The column is a literal, not a parameter, so that the planner matches
	// the expression index on (data->>'col').
	return s.query(ctx, q, src, `SELECT key, data, deleted FROM `+s.table(src)+` WHERE NOT deleted AND data->>`+quoteLiteral(col)+` = ANY($1)`, vals)
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

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// decodeRow decodes a jsonb row keeping numbers exact.
func decodeRow(b []byte) (map[string]any, error) {
	if len(b) == 0 {
		return nil, nil
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode state row: %w", err)
	}
	return m, nil
}
