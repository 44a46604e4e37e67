package projector

// How a change of a row a group_by view joins finds the view's groups
// holding its values (see Engine.groupsEmbedding): one root row per group,
// not every row of the group.

import (
	"context"
	"strconv"
	"strings"

	"github.com/projectorhq/projector/projections"
)

func (t pgTx) firstRows(ctx context.Context, src *projections.Source, by []string, tuples [][]string, cols []string) ([]stateRow, error) {
	names, conds := make([]string, len(by)), make([]string, len(by))
	args := make([]any, len(by))
	for i, col := range by {
		names[i] = "v" + strconv.Itoa(i)
		expr := `data->>` + quoteLiteral(col)
		if src.KeyedBy(col) {
			expr = `key`
		}
		conds[i] = expr + ` = v.` + names[i]
		vals := make([]string, len(tuples))
		for k, tuple := range tuples {
			vals[k] = tuple[i]
		}
		args[i] = vals
	}
	arrays := make([]string, len(by))
	for i := range by {
		arrays[i] = `$` + strconv.Itoa(i+1) + `::text[]`
	}
	return t.s.query(ctx, t.tx, src, `SELECT r.key, r.data, r.deleted FROM unnest(`+strings.Join(arrays, ", ")+`) AS v(`+strings.Join(names, ", ")+`)
		CROSS JOIN LATERAL (SELECT key, `+slim("data", cols)+` AS data, deleted FROM `+t.s.table(src)+`
			WHERE NOT deleted AND `+strings.Join(conds, " AND ")+` LIMIT 1) r`, args...)
}

// eachGroup walks the view's group index (groupIndex: the columns group,
// as data->>'col', of the live rows) from each tuple's first group, each
// next one the first index entry past the one before: a recursive query
// reading one row per group. Through a cursor, as eachRow.
func (t pgTx) eachGroup(ctx context.Context, src *projections.Source, group []string, tuples [][]string, cols []string, page int, fn func([]stateRow) error) error {
	if len(tuples) == 0 {
		return nil
	}
	k := len(tuples[0])
	exprs, names, arrays, prefix, notNull, last := make([]string, len(group)), make([]string, k), make([]string, k), make([]string, k), make([]string, len(group)), make([]string, len(group))
	args := make([]any, k)
	for i, col := range group {
		exprs[i] = `data->>` + quoteLiteral(col)
		notNull[i] = exprs[i] + ` IS NOT NULL`
		last[i] = `g.t[` + strconv.Itoa(i+1) + `]`
	}
	for i := range k {
		names[i] = "p" + strconv.Itoa(i)
		arrays[i] = `$` + strconv.Itoa(i+1) + `::text[]`
		prefix[i] = exprs[i] + ` = v.` + names[i]
		vals := make([]string, len(tuples))
		for n, tuple := range tuples {
			vals[n] = tuple[i]
		}
		args[i] = vals
	}
	order := strings.Join(exprs, ", ")
	from := ` FROM ` + t.s.table(src) + ` WHERE NOT deleted AND ` + strings.Join(prefix, " AND ") + ` AND ` + strings.Join(notNull, " AND ")
	pick := `SELECT ARRAY[` + order + `] AS t, key, ` + slim("data", cols) + ` AS data`
	sql := `SELECT r.key, r.data, false FROM unnest(` + strings.Join(arrays, ", ") + `) AS v(` + strings.Join(names, ", ") + `)
		CROSS JOIN LATERAL (WITH RECURSIVE g(t, key, data) AS (
			(` + pick + from + ` ORDER BY ` + order + ` LIMIT 1)
			UNION ALL
			(SELECT n.t, n.key, n.data FROM g CROSS JOIN LATERAL (` + pick + from + ` AND (` + order + `) > (` + strings.Join(last, ", ") + `)
				ORDER BY ` + order + ` LIMIT 1) n)
		) SELECT key, data FROM g) r`
	return t.eachPage(ctx, src, sql, args, page, fn)
}

func (t memTx) firstRows(ctx context.Context, src *projections.Source, by []string, tuples [][]string, cols []string) ([]stateRow, error) {
	var out []stateRow
	for _, tuple := range tuples {
		in := make([]columnIn, len(by))
		for i, col := range by {
			in[i] = columnIn{col: col, vals: []string{tuple[i]}}
		}
		rows, _ := t.rowsByColumn(ctx, src, in, cols, 1)
		out = append(out, rows...)
	}
	return out, nil
}

func (t memTx) eachGroup(ctx context.Context, src *projections.Source, group []string, tuples [][]string, cols []string, page int, fn func([]stateRow) error) error {
	seen := map[string]bool{}
	var out []stateRow
	for _, tuple := range tuples {
		in := make([]columnIn, len(tuple))
		for i, v := range tuple {
			in[i] = columnIn{col: group[i], vals: []string{v}}
		}
		rows, _ := t.rowsByColumn(ctx, src, in, nil, 0)
		for _, r := range rows {
			vals, ok := pick(r.Data, group)
			id, whole := docID(vals)
			if ok && whole && !seen[id] {
				seen[id] = true
				out = append(out, stateRow{Key: r.Key, Data: slimRow(r.Data, cols)})
			}
		}
	}
	for len(out) > 0 {
		n := min(page, len(out))
		if err := fn(out[:n]); err != nil {
			return err
		}
		out = out[n:]
	}
	return nil
}
