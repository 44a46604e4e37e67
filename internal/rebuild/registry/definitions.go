package registry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Definition is the recorded definition of a view: the canonical JSON of
// the view's YAML (see internal/definition) its served documents were
// computed with, and its fingerprint. It is recorded when the view is
// first deployed and when a rebuild swaps a generation in; a start with an
// edited file does not change it, so that every start can tell what its
// documents do not follow.
type Definition struct {
	View        string
	JSON        []byte
	Fingerprint string
	// Generation is the generation whose swap recorded it (1: the first
	// deployment).
	Generation int
	RecordedAt time.Time
	// Aliased: the view's Elasticsearch alias was seen on an index since
	// the definition was recorded (a start that set it up, a rebuild's
	// swap). One gone since was lost, not never made (see NoteAliased).
	Aliased bool
	// RedisMarked: the view's Redis marker was set since the definition was
	// recorded (stack.MarkerKey): one gone since was lost with Redis's
	// data, not never set (see NoteRedisMarked).
	RedisMarked bool
}

// NoteAliased records that the Elasticsearch aliases of views are on their
// index: a start whose setup put them there, or found them.
func (r *Registry) NoteAliased(ctx context.Context, views []string) error {
	return r.note(ctx, "es_aliased", "elasticsearch aliases", views)
}

// NoteRedisMarked records that the Redis markers of views are set.
func (r *Registry) NoteRedisMarked(ctx context.Context, views []string) error {
	return r.note(ctx, "redis_marked", "redis markers", views)
}

// note sets column, one of the definitions' flags, for views.
func (r *Registry) note(ctx context.Context, column, what string, views []string) error {
	if len(views) == 0 {
		return nil
	}
	c := pgx.Identifier{column}.Sanitize()
	if _, err := r.pool.Exec(ctx, `UPDATE `+r.ident("definitions")+` SET `+c+` = true
		WHERE view = ANY($1) AND `+c+` IS NOT TRUE`, views); err != nil {
		return fmt.Errorf("registry: note %s: %w", what, err)
	}
	return nil
}

// NoteAliasedTx is NoteAliased of one view in tx: a swap that moved its
// alias.
func (r *Registry) NoteAliasedTx(ctx context.Context, tx pgx.Tx, view string) error {
	if _, err := tx.Exec(ctx, `UPDATE `+r.ident("definitions")+` SET es_aliased = true WHERE view = $1`, view); err != nil {
		return fmt.Errorf("registry: note the elasticsearch alias of %s: %w", view, err)
	}
	return nil
}

// definitionsTable is created by Migrate.
func (r *Registry) definitionsTable() string {
	return `CREATE TABLE IF NOT EXISTS ` + r.ident("definitions") + ` (
		view text PRIMARY KEY, definition jsonb NOT NULL, fingerprint text NOT NULL,
		generation int NOT NULL DEFAULT 1, recorded_at timestamptz NOT NULL DEFAULT now())`
}

// Definitions reads every recorded definition, by view; none when the
// registry's tables do not exist yet.
func (r *Registry) Definitions(ctx context.Context) (map[string]Definition, error) {
	rows, err := r.pool.Query(ctx, definitionColumns+` FROM `+r.ident("definitions")+` d`)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P01" {
		return nil, nil // no registry yet (validate migrates nothing): nothing recorded
	}
	if err != nil {
		return nil, fmt.Errorf("registry: read view definitions: %w", err)
	}
	defs, err := pgx.CollectRows(rows, scanDefinition)
	if err != nil {
		return nil, fmt.Errorf("registry: read view definitions: %w", err)
	}
	out := make(map[string]Definition, len(defs))
	for _, d := range defs {
		out[d.View] = d
	}
	return out, nil
}

// definitionColumns selects what scanDefinition reads from the
// definitions d; es_aliased and redis_marked through the row's json, so
// that a registry an earlier version made (which validate reads without
// migrating it) reads; a row of an earlier version (null, or no column)
// reads as noted (see Migrate).
const definitionColumns = `SELECT view, definition::text, fingerprint, generation, recorded_at,
	coalesce((to_jsonb(d)->>'es_aliased')::boolean, true), coalesce((to_jsonb(d)->>'redis_marked')::boolean, true)`

func scanDefinition(row pgx.CollectableRow) (Definition, error) {
	var d Definition
	var text string
	err := row.Scan(&d.View, &text, &d.Fingerprint, &d.Generation, &d.RecordedAt, &d.Aliased, &d.RedisMarked)
	d.JSON = []byte(text)
	return d, err
}

// DeployDefinitions records the definition of each view that has none
// yet (a first deployment), leaving recorded ones alone. It does not bump
// the version: nothing changes for the writers.
func (r *Registry) DeployDefinitions(ctx context.Context, defs []Definition) error {
	if len(defs) == 0 {
		return nil
	}
	views, jsons, fps := make([]string, len(defs)), make([]string, len(defs)), make([]string, len(defs))
	for i, d := range defs {
		views[i], jsons[i], fps[i] = d.View, string(d.JSON), d.Fingerprint
	}
	_, err := r.pool.Exec(ctx, `INSERT INTO `+r.ident("definitions")+` (view, definition, fingerprint)
		SELECT v, d::jsonb, f FROM unnest($1::text[], $2::text[], $3::text[]) AS t(v, d, f)
		ON CONFLICT (view) DO NOTHING`, views, jsons, fps)
	if err != nil {
		return fmt.Errorf("registry: record view definitions: %w", err)
	}
	return nil
}

// DefinitionTx reads the recorded definition of a view in tx, locking it
// until tx ends; ok is false when none is recorded.
func (r *Registry) DefinitionTx(ctx context.Context, tx pgx.Tx, view string) (d Definition, ok bool, err error) {
	rows, err := tx.Query(ctx, definitionColumns+` FROM `+r.ident("definitions")+` d WHERE view = $1 FOR UPDATE`, view)
	if err != nil {
		return Definition{}, false, fmt.Errorf("registry: read the definition of %s: %w", view, err)
	}
	defs, err := pgx.CollectRows(rows, scanDefinition)
	if err != nil || len(defs) == 0 {
		return Definition{}, false, err
	}
	return defs[0], true, nil
}

// RecordDefinitionTx records d in tx as the definition the view's served
// documents follow, recorded by the swap of d.Generation.
func (r *Registry) RecordDefinitionTx(ctx context.Context, tx pgx.Tx, d Definition) error {
	_, err := tx.Exec(ctx, `INSERT INTO `+r.ident("definitions")+` (view, definition, fingerprint, generation)
		VALUES ($1, $2::text::jsonb, $3, $4)
		ON CONFLICT (view) DO UPDATE SET definition = excluded.definition, fingerprint = excluded.fingerprint,
		generation = excluded.generation, recorded_at = now()`, d.View, string(d.JSON), d.Fingerprint, d.Generation)
	if err != nil {
		return fmt.Errorf("registry: record the definition of %s: %w", d.View, err)
	}
	return nil
}
