package projector

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// groupAggsTable keeps the groups of the aggregation views (see groupAgg):
// a cache of what their rows give, trusted for groupVerifyAge after it was
// computed from them and kept up to date, in the transactions that change
// the rows, meanwhile. json, not jsonb: a min or max keeps its value's text,
// and the row is written with every batch touching the group and read as
// it was sent.
func (s *state) groupAggsTable() string {
	return `CREATE TABLE IF NOT EXISTS ` + s.ident("group_aggs") + ` (
		view text NOT NULL, group_id text NOT NULL, fp text NOT NULL, agg json NOT NULL,
		verified_at timestamptz NOT NULL, PRIMARY KEY (view, group_id))`
}

// groupKeepersTable lists who keeps groups (see groupKeeper).
func (s *state) groupKeepersTable() string {
	return `CREATE TABLE IF NOT EXISTS ` + s.ident("group_keepers") + ` (
		view text NOT NULL, fp text NOT NULL, source text NOT NULL, PRIMARY KEY (view, fp))`
}

func (t pgTx) groupAggs(ctx context.Context, view string, ids []string, lock bool) (map[string]storedGroup, error) {
	// The age is PostgreSQL's to judge, whose clock wrote verified_at.
	q := `SELECT group_id, fp, agg::text, verified_at > now() - make_interval(secs => $3) FROM ` + t.s.ident("group_aggs") + `
		WHERE view = $1 AND group_id = ANY($2)`
	if lock {
		q += ` ORDER BY group_id FOR UPDATE`
	}
	rows, err := t.tx.Query(ctx, q, view, ids, groupVerifyAge.Seconds())
	if err != nil {
		return nil, fmt.Errorf("read groups of %s: %w", view, err)
	}
	out := map[string]storedGroup{}
	var id, agg string
	var g storedGroup
	_, err = pgx.ForEachRow(rows, []any{&id, &g.fp, &agg, &g.recent}, func() error {
		g.agg = []byte(agg)
		out[id] = g
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read groups of %s: %w", view, err)
	}
	return out, nil
}

func (t pgTx) saveGroupAggs(ctx context.Context, source, view, fp string, groups map[string]*groupAgg, recomputed map[string]string) error {
	var ids, aggs, gone []string
	var fresh []bool
	for id, g := range groups {
		if g == nil {
			gone = append(gone, id)
			continue
		}
		b, err := json.Marshal(g)
		if err != nil {
			return fmt.Errorf("encode group %s of %s: %w", id, view, err)
		}
		_, now := recomputed[id]
		ids, aggs, fresh = append(ids, id), append(aggs, string(b)), append(fresh, now)
	}
	table := t.s.ident("group_aggs")
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO `+t.s.ident("group_keepers")+` (view, fp, source) VALUES ($1, $2, $3)
		ON CONFLICT (view, fp) DO NOTHING`, view, fp, source)
	if len(gone) > 0 {
		b.Queue(`DELETE FROM `+table+` WHERE view = $1 AND group_id = ANY($2)`, view, gone)
	}
	if len(ids) > 0 {
		// A group taking a batch's changes keeps the time it was last
		// computed from its rows; one recomputed gets now.
		b.Queue(`INSERT INTO `+table+` AS g (view, group_id, fp, agg, verified_at)
			SELECT $1, id, $2, agg::json, CASE WHEN fresh THEN now() ELSE '-infinity' END
			FROM unnest($3::text[], $4::text[], $5::bool[]) AS x(id, agg, fresh)
			ON CONFLICT (view, group_id) DO UPDATE SET fp = excluded.fp, agg = excluded.agg,
				verified_at = greatest(excluded.verified_at, g.verified_at)`, view, fp, ids, aggs, fresh)
	}
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("keep groups of %s: %w", view, err)
	}
	return nil
}

func (t pgTx) distrustGroups(ctx context.Context, view string, ids []string) error {
	if _, err := t.tx.Exec(ctx, `UPDATE `+t.s.ident("group_aggs")+` SET verified_at = '-infinity'
		WHERE view = $1 AND group_id = ANY($2)`, view, ids); err != nil {
		return fmt.Errorf("distrust groups of %s: %w", view, err)
	}
	return nil
}

func (t pgTx) forgetGroups(ctx context.Context, view string, ids []string) error {
	if _, err := t.tx.Exec(ctx, `DELETE FROM `+t.s.ident("group_aggs")+`
		WHERE view = $1 AND group_id = ANY($2)`, view, ids); err != nil {
		return fmt.Errorf("forget groups of %s: %w", view, err)
	}
	return nil
}

func (t pgTx) distrustOthers(ctx context.Context, sources []string, mine []groupKeeper) error {
	views, fps := make([]string, len(mine)), make([]string, len(mine))
	for i, k := range mine {
		views[i], fps[i] = k.view, k.fp
	}
	_, err := t.tx.Exec(ctx, `WITH gone AS (
			DELETE FROM `+t.s.ident("group_keepers")+` k WHERE k.source = ANY($1)
				AND (k.view, k.fp) NOT IN (SELECT * FROM unnest($2::text[], $3::text[]))
			RETURNING k.view, k.fp)
		UPDATE `+t.s.ident("group_aggs")+` g SET verified_at = '-infinity' FROM gone
		WHERE g.view = gone.view AND g.fp = gone.fp AND g.verified_at > '-infinity'`, sources, views, fps)
	if err != nil {
		return fmt.Errorf("distrust groups kept by others: %w", err)
	}
	return nil
}

// A memory state keeps no groups: each is computed from its rows whenever
// a batch touches it. Engines on the two states then check each other
// (tests run the same records through both).
func (memTx) groupAggs(context.Context, string, []string, bool) (map[string]storedGroup, error) {
	return nil, nil
}

func (memTx) saveGroupAggs(context.Context, string, string, string, map[string]*groupAgg, map[string]string) error {
	return nil
}

func (memTx) distrustGroups(context.Context, string, []string) error { return nil }

func (memTx) forgetGroups(context.Context, string, []string) error { return nil }

func (memTx) distrustOthers(context.Context, []string, []groupKeeper) error { return nil }
