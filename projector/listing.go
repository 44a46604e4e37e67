package projector

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/projectorhq/projector/projections"
)

// The state's listings for a rebuild from it (see DocIDs): the live rows
// of a source, or the groups of a view, a page at a time in key order
// after a cursor.

func (s *state) liveRows(ctx context.Context, src *projections.Source, after string, started bool, limit int) ([]stateRow, error) {
	return s.query(ctx, s.pool, src,
		`SELECT key, data, deleted FROM `+s.table(src)+` WHERE NOT deleted AND key `+afterOp(started)+` $1 ORDER BY key LIMIT $2`, after, limit)
}

// afterOp compares a key with a listing's cursor: strictly after the key
// it points after, or from the first key (every key is >= ”).
func afterOp(started bool) string {
	if started {
		return ">"
	}
	return ">="
}

func (s *state) groups(ctx context.Context, v *projections.View, after string, started bool, limit int) ([]map[string]any, string, error) {
	if len(v.IDColumns) > 1 {
		return s.tupleGroups(ctx, v, after, started, limit)
	}
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT ON (g) g, data FROM (
		SELECT `+groupExpr(v)+` AS g, data FROM `+s.table(v.Root)+` WHERE NOT deleted) s
		WHERE g `+afterOp(started)+` $1 ORDER BY g LIMIT $2`, after, limit)
	if err != nil {
		return nil, "", fmt.Errorf("list groups of %s: %w", v.Name, err)
	}
	defer rows.Close()
	var out []map[string]any
	last := ""
	for rows.Next() {
		var g string
		var data []byte
		if err := rows.Scan(&g, &data); err != nil {
			return nil, "", err
		}
		row, err := decodeRow(data)
		if err != nil {
			return nil, "", err
		}
		out = append(out, row)
		last = g
	}
	return out, last, rows.Err()
}

// tupleGroups lists the groups of a view grouped by several columns in the
// order of their values, after the tuple after (the JSON array of their
// texts), through the view's group index (groupIndex): each page reads its
// own groups' rows. A row with a null among them is in no group.
func (s *state) tupleGroups(ctx context.Context, v *projections.View, after string, started bool, limit int) ([]map[string]any, string, error) {
	n := len(v.IDColumns)
	exprs, params := make([]string, n), make([]string, n)
	cond := "NOT deleted"
	for i, c := range v.IDColumns {
		exprs[i] = `data->>` + quoteLiteral(c)
		params[i] = "$" + strconv.Itoa(i+2)
		cond += " AND " + exprs[i] + " IS NOT NULL"
	}
	args := []any{limit}
	if started {
		var parts []string
		if err := json.Unmarshal([]byte(after), &parts); err != nil || len(parts) != n {
			return nil, "", fmt.Errorf("list groups of %s: cursor %q is no tuple of %d values", v.Name, after, n)
		}
		cond += " AND (" + strings.Join(exprs, ", ") + ") > (" + strings.Join(params, ", ") + ")"
		for _, p := range parts {
			args = append(args, p)
		}
	}
	cols := strings.Join(exprs, ", ")
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT ON (`+cols+`) data FROM `+s.table(v.Root)+
		` WHERE `+cond+` ORDER BY `+cols+` LIMIT $1`, args...)
	if err != nil {
		return nil, "", fmt.Errorf("list groups of %s: %w", v.Name, err)
	}
	defer rows.Close()
	var out []map[string]any
	var last []string
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return nil, "", err
		}
		row, err := decodeRow(data)
		if err != nil {
			return nil, "", err
		}
		out = append(out, row)
		last = last[:0]
		for _, c := range v.IDColumns {
			t, _ := text(row[c])
			last = append(last, t)
		}
	}
	if err := rows.Err(); err != nil || len(out) == 0 {
		return nil, "", err
	}
	cursor, err := json.Marshal(last)
	return out, string(cursor), err
}
