package projector

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/internal/pglock"
	"github.com/projectorhq/projector/projections"
)

// stateIndex is an index projector keeps on a state table.
type stateIndex struct {
	table string // the state table
	name  string
	on    string // what follows CREATE INDEX … ON table
	// def is how pg_get_indexdef ends for it: the index is recognised by
	// what it indexes, whatever an earlier version named it.
	def string
}

// tombstoneIndex is the partial index on src's tombstones, for
// collectTombstones: on a column no update changes, so that updates of
// live rows stay HOT. Its name has a '#' where a join index's has a ':'
// (see joinIndex), whatever the column is called.
func tombstoneIndex(src *projections.Source) stateIndex {
	t := "state_" + src.Name
	return stateIndex{table: t, name: indexName(t + "#tombstones"), on: `(key) WHERE deleted`, def: `USING btree (key) WHERE deleted`}
}

// joinIndex is the index joins look src's rows up by col through, named
// state_<source>:<col>: no source name has a ':', so no other source's
// index or table has its name.
func joinIndex(src *projections.Source, col string) stateIndex {
	t := "state_" + src.Name
	return stateIndex{table: t, name: indexName(t + ":" + col),
		on:  `((data->>` + quoteLiteral(col) + `))`,
		def: `USING btree (((data ->> ` + quoteLiteral(col) + `::text)))`}
}

// groupIndex is the index a view grouped by several columns lists its
// groups through, in the order of their values (see state.groups): the
// text of their JSON array, which no index can hold (jsonb_build_array is
// not immutable), made every page of a rebuild's listing read the whole
// table. Named state_<source>#group("a","b").
func groupIndex(v *projections.View) stateIndex {
	return groupIndexIn(v.Root, v.IDColumns)
}

// groupIndexIn is the index of src's live rows on cols, in that order: a
// view's group_by columns in their order (groupIndex), or with the columns
// a join of the view finds its groups by first (groupOrder).
func groupIndexIn(src *projections.Source, cols []string) stateIndex {
	t := "state_" + src.Name
	names, on, def := make([]string, len(cols)), make([]string, len(cols)), make([]string, len(cols))
	for i, c := range cols {
		names[i] = strconv.Quote(c)
		on[i] = `(data->>` + quoteLiteral(c) + `)`
		def[i] = `((data ->> ` + quoteLiteral(c) + `::text))`
	}
	return stateIndex{table: t, name: indexName(t + "#group(" + strings.Join(names, ",") + ")"),
		on:  `(` + strings.Join(on, ", ") + `) WHERE NOT deleted`,
		def: `USING btree (` + strings.Join(def, ", ") + `) WHERE (NOT deleted)`}
}

// groupOrder is the order of v's group_by columns whose index a change of
// a row j joins walks to find the groups holding its values (eachGroup):
// the columns j joins on first, then the others, each part in group_by
// order. ok is false where no walk is needed or possible: j joins on every
// group_by column (firstRows reads the one group), or one of them is the
// root's key (the index holds data's columns, not the key).
func groupOrder(v *projections.View, j *projections.Join) (order []string, k int, ok bool) {
	outer := outerCols(j)
	if len(v.IDColumns) < 2 || isSubset(v.IDColumns, outer) {
		return nil, 0, false
	}
	var rest []string
	for _, c := range v.IDColumns {
		if v.Root.KeyedBy(c) {
			return nil, 0, false
		}
		if slices.Contains(outer, c) {
			order = append(order, c)
		} else {
			rest = append(rest, c)
		}
	}
	return append(order, rest...), len(order), true
}

// groupJoinIndexes are the indexes of v's root rows that v's joins walk
// (groupOrder) besides the view's own group index.
func groupJoinIndexes(v *projections.View) []stateIndex {
	var out []stateIndex
	for _, f := range v.Fields {
		if f.Join == nil {
			continue
		}
		if order, _, ok := groupOrder(v, f.Join); ok {
			out = append(out, groupIndexIn(v.Root, order))
		}
	}
	return out
}

// indexName makes a name fit PostgreSQL's 63 bytes: a longer one is cut
// and ends with a hash of the whole.
func indexName(s string) string {
	const limit = 63
	if len(s) <= limit {
		return s
	}
	h := fnv.New32a()
	h.Write([]byte(s))
	cut := s[:limit-9]
	for !utf8.ValidString(cut) {
		cut = cut[:len(cut)-1]
	}
	return fmt.Sprintf("%s~%08x", cut, h.Sum32())
}

func (s *state) createIndex(ix stateIndex, concurrently bool) string {
	how := "CREATE INDEX IF NOT EXISTS "
	if concurrently {
		how = "CREATE INDEX CONCURRENTLY IF NOT EXISTS "
	}
	return how + pgx.Identifier{ix.name}.Sanitize() + ` ON ` + s.ident(ix.table) + ` ` + ix.on
}

// liveIndex is an index of a state table as the catalog has it.
type liveIndex struct {
	name, table, def string
	valid            bool
}

func (s *state) liveIndexes(ctx context.Context, q querier) ([]liveIndex, error) {
	rows, err := q.Query(ctx, `SELECT c.relname, t.relname, pg_get_indexdef(c.oid), i.indisvalid
		FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
		JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = $1`, s.schema)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (liveIndex, error) {
		var ix liveIndex
		err := r.Scan(&ix.name, &ix.table, &ix.def, &ix.valid)
		return ix, err
	})
}

// indexStep is one change to the state tables' indexes.
type indexStep struct {
	sql  string
	what string
	// retry prepares another attempt after a failed one: a failed build
	// leaves an invalid index that IF NOT EXISTS would keep.
	retry string
}

// indexSteps lists what brings the live indexes to want, without those of
// drop (indexes earlier versions kept that are not needed any more): an
// index found under another name is renamed, an invalid one (a failed
// build) dropped and built again, a missing one built, all without
// blocking the tables' writers.
func (s *state) indexSteps(live []liveIndex, want, drop []stateIndex) []indexStep {
	var steps []indexStep
	find := func(ix stateIndex) (liveIndex, bool) {
		for _, l := range live {
			if l.table == ix.table && l.name == ix.name && strings.HasSuffix(l.def, ix.def) {
				return l, true
			}
		}
		for _, l := range live {
			if l.table == ix.table && strings.HasSuffix(l.def, ix.def) {
				return l, true
			}
		}
		return liveIndex{}, false
	}
	for _, ix := range want {
		l, ok := find(ix)
		switch {
		case ok && l.valid && l.name == ix.name:
			continue
		case ok && l.valid:
			steps = append(steps, indexStep{sql: `ALTER INDEX ` + s.ident(l.name) + ` RENAME TO ` + pgx.Identifier{ix.name}.Sanitize(), what: "rename index " + l.name})
			continue
		case ok:
			steps = append(steps, indexStep{sql: `DROP INDEX CONCURRENTLY IF EXISTS ` + s.ident(l.name), what: "drop invalid index " + l.name})
		}
		steps = append(steps, indexStep{s.createIndex(ix, true), "build index " + ix.name, `DROP INDEX CONCURRENTLY IF EXISTS ` + s.ident(ix.name)})
	}
	for _, ix := range drop {
		for _, l := range live {
			if l.table == ix.table && strings.HasSuffix(l.def, ix.def) {
				steps = append(steps, indexStep{sql: `DROP INDEX CONCURRENTLY IF EXISTS ` + s.ident(l.name), what: "drop index " + l.name})
			}
		}
	}
	return steps
}

// syncIndexes brings the state tables' indexes to want (see indexSteps),
// one instance at a time. The lock is a session lock, as CONCURRENTLY runs
// outside a transaction, and it is polled for rather than waited on: a
// statement waiting on it would hold a snapshot, which a concurrent build
// of the instance holding it waits for, a deadlock.
func (s *state) syncIndexes(ctx context.Context, want, drop []stateIndex) error {
	live, err := s.liveIndexes(ctx, s.pool)
	if err != nil {
		return err
	}
	if len(s.indexSteps(live, want, drop)) == 0 {
		return nil
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	key := "projector.migrate.indexes:" + s.schema
	if err := pglock.Poll(ctx, conn, `SELECT pg_try_advisory_lock(hashtext($1))`, key); err != nil {
		return err
	}
	defer func() {
		// Released with the session anyway, should this fail.
		_, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtext($1))`, key)
	}()
	// Another instance may have done it meanwhile.
	if live, err = s.liveIndexes(ctx, conn); err != nil {
		return err
	}
	for _, step := range s.indexSteps(live, want, drop) {
		if err := execRetrying(ctx, conn, step); err != nil {
			return fmt.Errorf("%s: %w", step.what, err)
		}
	}
	return nil
}

// execRetrying runs a step outside a transaction, again when it was chosen
// as a deadlock victim: a concurrent build waits for every older snapshot,
// and a running instance may be waiting for something of ours.
func execRetrying(ctx context.Context, conn *pgxpool.Conn, step indexStep) error {
	for attempt := 0; ; attempt++ {
		_, err := conn.Exec(ctx, step.sql)
		var pgErr *pgconn.PgError
		if err == nil || attempt == 4 || !errors.As(err, &pgErr) || pgErr.Code != "40P01" {
			return err
		}
		if step.retry != "" {
			if _, err := conn.Exec(ctx, step.retry); err != nil {
				return err
			}
		}
	}
}
