package projector

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/projectorhq/projector/projections"
)

// migrate creates projector's own tables, then brings what an earlier
// version created up to date.
//
// The creation runs in one transaction holding an advisory lock, so that
// instances starting together do not race on CREATE … IF NOT EXISTS; it
// indexes the state tables it created. The indexes of tables that existed
// are then brought up to date without blocking their writers (see
// syncIndexes): running instances keep writing while a large table is
// indexed. Each upgrade then runs in a transaction of its own and locks
// one table at a time: instances of the earlier version may be writing
// meanwhile (a batch locks state tables, then pending_batches), and
// holding one table while waiting for another would deadlock with them.
func (s *state) migrate(ctx context.Context, plan *projections.Plan) error {
	create := []string{
		`CREATE SCHEMA IF NOT EXISTS ` + pgx.Identifier{s.schema}.Sanitize(),
		`CREATE TABLE IF NOT EXISTS ` + s.ident("revs") + ` (
			view text NOT NULL, doc_id text NOT NULL, rev bigint NOT NULL, deleted_at timestamptz,
			PRIMARY KEY (view, doc_id)) WITH (fillfactor = 70)`,
		// Per view, the highest revision collected (see revisions.go).
		`CREATE TABLE IF NOT EXISTS ` + s.ident("rev_floors") + ` (
			view text PRIMARY KEY, floor bigint NOT NULL)`,
		// pending holds the documents whose state changed but whose sink
		// writes are not yet acknowledged: written in the same transaction as
		// the state, so a crash between the two loses no recompute. One row
		// per batch (a row per document cost more than the documents'
		// recompute); the view lists them one per document. The list is
		// json, stored uncompressed: it is written with every batch and
		// read only after a crash, so it is kept as sent rather than
		// parsed into jsonb and compressed (a third of the batch's
		// PostgreSQL time for it otherwise).
		`CREATE TABLE IF NOT EXISTS ` + s.ident("pending_batches") + ` (
			id bigserial PRIMARY KEY, docs json NOT NULL,
			created_at timestamptz NOT NULL DEFAULT now())`,
		`CREATE OR REPLACE VIEW ` + s.ident("pending") + ` AS ` + s.pendingView(),
		`CREATE TABLE IF NOT EXISTS ` + s.ident("watermarks") + ` (
			source text NOT NULL, topic text NOT NULL, partition int NOT NULL,
			"offset" bigint NOT NULL, pos_hi bigint NOT NULL, pos_lo bigint NOT NULL,
			updated_at timestamptz NOT NULL, PRIMARY KEY (topic, partition))`,
		// Docs a store refused for a conflict, tried again after any
		// instance's batches (conflictstore.go).
		`CREATE TABLE IF NOT EXISTS ` + s.ident("conflicts") + ` (
			view text NOT NULL, doc_id text NOT NULL, key json NOT NULL, tries int NOT NULL,
			updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (view, doc_id))`,
		`CREATE TABLE IF NOT EXISTS ` + s.ident("truncates") + ` (
			source text PRIMARY KEY, pos_hi bigint NOT NULL, pos_lo bigint NOT NULL,
			updated_at timestamptz NOT NULL DEFAULT now())`,
		// The columns every row of a source's state holds (columns.go).
		`CREATE TABLE IF NOT EXISTS ` + s.ident("state_columns") + ` (
			source text PRIMARY KEY, complete text[] NOT NULL,
			updated_at timestamptz NOT NULL DEFAULT now())`,
		// The topic each source reads, to tell a source renamed in the
		// configuration (see renamedSources).
		`ALTER TABLE ` + s.ident("state_columns") + ` ADD COLUMN IF NOT EXISTS topic text`,
		// The declared type of each complete column, and the source one
		// was renamed from (columns.go, renamed.go).
		`ALTER TABLE ` + s.ident("state_columns") + ` ADD COLUMN IF NOT EXISTS types jsonb, ADD COLUMN IF NOT EXISTS renamed_from text`,
		// Whether every row holds the whole row (a source declaring no
		// columns), the sources one may be renamed from when several, and
		// the source whose re-read made the rows out of date (columns.go,
		// renamed.go).
		`ALTER TABLE ` + s.ident("state_columns") + ` ADD COLUMN IF NOT EXISTS whole boolean,
			ADD COLUMN IF NOT EXISTS renamed_among text[], ADD COLUMN IF NOT EXISTS superseded_by text`,
		s.groupAggsTable(),
		s.groupKeepersTable(),
		s.refreshesTable(),
		// An earlier version created it without them (it held a refresh
		// by pushing due_at an interval on).
		`ALTER TABLE ` + s.ident("refreshes") + ` ADD COLUMN IF NOT EXISTS holder text, ADD COLUMN IF NOT EXISTS held_until timestamptz`,
		patchFunction(pgx.Identifier{s.schema}.Sanitize()),
		truncateFunction(pgx.Identifier{s.schema}.Sanitize()),
	}
	upgrade := []string{pendingStorage(s.ident("pending_batches"), s.ident("pending"), s.pendingView()), fillfactor(s.ident("revs"), 70)}
	for _, src := range plan.Sources {
		t := s.table(src)
		create = append(create, `CREATE TABLE IF NOT EXISTS `+t+` (
			key text PRIMARY KEY, data jsonb NOT NULL,
			pos_hi bigint NOT NULL, pos_lo bigint NOT NULL,
			deleted boolean NOT NULL DEFAULT false,
			updated_at timestamptz NOT NULL DEFAULT now()) WITH (fillfactor = 80)`)
		upgrade = append(upgrade, fillfactor(t, 80))
	}
	indexes, obsolete := plannedIndexes(plan)
	err := retryTx(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('projector.migrate'))`); err != nil {
			return err
		}
		existed, err := s.tables(ctx, tx)
		if err != nil {
			return err
		}
		for _, q := range create {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		if err := s.addRevsColumns(ctx, tx); err != nil {
			return err
		}
		// A floor row exists before any batch of the view runs: a batch
		// finding none would lock nothing (see revisions.go).
		if _, err := tx.Exec(ctx, `INSERT INTO `+s.ident("rev_floors")+` (view, floor)
			SELECT unnest($1::text[]), 0 ON CONFLICT (view) DO NOTHING`, viewNames(plan)); err != nil {
			return err
		}
		for _, ix := range indexes {
			if !slices.Contains(existed, ix.table) {
				if _, err := tx.Exec(ctx, s.createIndex(ix, false)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("migrate state: %w", err)
	}
	if err := s.syncIndexes(ctx, indexes, obsolete); err != nil {
		return fmt.Errorf("migrate state: %w", err)
	}
	for _, q := range upgrade {
		if err := retryTx(ctx, s.pool, func(tx pgx.Tx) error { _, err := tx.Exec(ctx, q); return err }); err != nil {
			return fmt.Errorf("migrate state: %w", err)
		}
	}
	return nil
}

// addRevsColumns adds to the revisions table the columns an earlier version
// created it without: deleted_at, and gone_written (see absentDocs).
// Checked first: ALTER TABLE would lock the table on every start.
func (s *state) addRevsColumns(ctx context.Context, tx pgx.Tx) error {
	for _, c := range []struct{ name, typ string }{
		{"deleted_at", "timestamptz"},
		{"gone_written", "bigint"}, // see absentDocs
	} {
		// Asked first: ALTER TABLE locks the revisions every batch takes,
		// even when the column is there.
		var has bool
		err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.columns
			WHERE table_schema = $1 AND table_name = 'revs' AND column_name = $2)`, s.schema, c.name).Scan(&has)
		if err != nil {
			return err
		}
		if !has {
			if _, err := tx.Exec(ctx, `ALTER TABLE `+s.ident("revs")+` ADD COLUMN `+c.name+` `+c.typ); err != nil {
				return err
			}
		}
	}
	return nil
}

func viewNames(plan *projections.Plan) []string {
	names := make([]string, len(plan.Views))
	for i, v := range plan.Views {
		names[i] = v.Name
	}
	return names
}

// tables lists the names of projector's tables.
func (s *state) tables(ctx context.Context, q querier) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind = 'r'`, s.schema)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// plannedIndexes are the indexes of the state tables plan reads by, and
// those earlier versions kept that no version needs any more.
func plannedIndexes(plan *projections.Plan) (indexes, obsolete []stateIndex) {
	indexes = []stateIndex{revsDeletedIndex()}
	for _, src := range plan.Sources {
		indexes = append(indexes, tombstoneIndex(src))
		for _, col := range src.Indexed {
			indexes = append(indexes, joinIndex(src, col))
		}
		// Earlier versions also indexed a key column joins find rows by;
		// the primary key does that now.
		if len(src.Key) == 1 && src.KeyedBy(src.Key[0]) {
			obsolete = append(obsolete, joinIndex(src, src.Key[0]))
		}
	}
	for _, v := range plan.Views {
		if len(v.GroupBy) == 0 || len(v.IDColumns) < 2 {
			continue
		}
		for _, ix := range append([]stateIndex{groupIndex(v)}, groupJoinIndexes(v)...) {
			if !slices.ContainsFunc(indexes, func(o stateIndex) bool { return o.name == ix.name }) {
				indexes = append(indexes, ix)
			}
		}
	}
	return indexes, obsolete
}

// pendingView lists the pending docs one per row.
func (s *state) pendingView() string {
	return `SELECT b.id, d->>'view' AS view, d->>'doc_id' AS doc_id, d->'key' AS key, b.created_at
		FROM ` + s.ident("pending_batches") + ` b CROSS JOIN LATERAL jsonb_array_elements(b.docs::jsonb) d`
}

// fillfactor leaves free room in the pages of a table whose rows are
// updated over and over (a document's revision, a source row's state), so
// that an update can stay on its page without touching the indexes (a HOT
// update): for the revisions, half the cost of a bump once the documents
// exist. It sets it on a table an earlier version created without, and
// does nothing (and locks nothing) once a fillfactor is set, this one or
// one an operator chose.
func fillfactor(table string, percent int) string {
	return `DO $$ BEGIN
		IF NOT EXISTS (SELECT FROM pg_class, unnest(reloptions) o
			WHERE oid = '` + table + `'::regclass AND o LIKE 'fillfactor=%') THEN
			ALTER TABLE ` + table + ` SET (fillfactor = ` + fmt.Sprint(percent) + `);
		END IF;
	END $$`
}

// pendingStorage keeps the pending list as uncompressed json, converting
// a table an earlier version created with jsonb (the view on it is
// recreated after). Where something of the user's is built on the view,
// the table is left as it is: the engine works with either type. It does
// nothing, and locks nothing, once done.
func pendingStorage(table, view, def string) string {
	return `DO $$ BEGIN
		IF (SELECT atttypid <> 'json'::regtype OR attstorage <> 'e' FROM pg_attribute
			WHERE attrelid = '` + table + `'::regclass AND attname = 'docs') THEN
			BEGIN
				DROP VIEW IF EXISTS ` + view + `;
				ALTER TABLE ` + table + ` ALTER COLUMN docs TYPE json USING docs::json,
					ALTER COLUMN docs SET STORAGE EXTERNAL;
				CREATE VIEW ` + view + ` AS ` + def + `;
			EXCEPTION WHEN dependent_objects_still_exist THEN
				RAISE NOTICE 'projector: % kept as it is: objects depend on %', '` + table + `', '` + view + `';
			END;
		END IF;
	END $$`
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
