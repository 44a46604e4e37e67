package rebuild

// The rows a re-read of the sources finds gone (--from source, --from
// signal) are deleted from the state through the engine, a page at a time.

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/projections"
)

// deleteUnseen deletes, at position lsn, the live state rows of src the
// source no longer has: of those left below lsn once the read is applied
// (every row read holds lsn or a newer position, unless it could not be
// projected, or a connector's initial snapshot, which any streamed change
// replaces, moved it back below), those the read's snapshot, still open in
// tx, does not have. Asked a page at a time, it holds no key per row read.
func (r *run) deleteUnseen(ctx context.Context, src *projections.Source, tx pgx.Tx, q *sourceQuery, lsn int64) error {
	has := func(ctx context.Context, _ []string, rows []map[string]any) ([]bool, error) {
		return q.has(ctx, tx, src, rows)
	}
	return r.deleteStateRows(ctx, src, `s.pos_hi < $1`, lsn, has, func(debezium.Position) debezium.Position {
		return debezium.Position{Hi: lsn}
	})
}

// deleteStateRows deletes, through the engine (so that every view follows),
// the live state rows of src (s) that match cond (SQL over the state
// table, with arg as $1) but those kept says the source has, asked a page
// of rows (their data) at a time; at gives each delete its position from
// the row's stored one.
func (r *run) deleteStateRows(ctx context.Context, src *projections.Source, cond string, arg any,
	kept func(ctx context.Context, ids []string, rows []map[string]any) ([]bool, error), at func(stored debezium.Position) debezium.Position) error {
	if len(src.Key) == 0 {
		// Which columns make a state row's key is known only from
		// records' keys: a delete could not name the row.
		r.opts.Log.Warn("rows gone from the source are not deleted: the source declares no key", "source", src.Name,
			"fix", "declare the source's key: (its primary key columns) and rebuild again")
		return nil
	}
	table := pgx.Identifier{r.env.Registry.Schema(), "state_" + src.Name}.Sanitize()
	// A page of rows at a time, deleted before the next is read: what a
	// rebuild holds is bounded by its chunk, not by the rows gone.
	type listed struct {
		id   string
		data []byte
		pos  debezium.Position
	}
	for after, first := "", true; ; first = false {
		rows, err := r.env.Pool.Query(ctx, `SELECT key, data, pos_hi, pos_lo FROM `+table+` AS s WHERE NOT deleted AND `+cond+
			` AND ($2 OR key > $3) ORDER BY key LIMIT $4`, arg, first, after, r.opts.Chunk)
		if err != nil {
			return fmt.Errorf("list the state of %s: %w", src.Name, err)
		}
		page, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (listed, error) {
			var s listed
			err := row.Scan(&s.id, &s.data, &s.pos.Hi, &s.pos.Lo)
			return s, err
		})
		if err != nil {
			return fmt.Errorf("list the state of %s: %w", src.Name, err)
		}
		ids, data := make([]string, len(page)), make([]map[string]any, len(page))
		for i, s := range page {
			ids[i] = s.id
			d := json.NewDecoder(strings.NewReader(string(s.data)))
			d.UseNumber()
			if err := d.Decode(&data[i]); err != nil {
				return fmt.Errorf("decode the state of %s: %w", src.Name, err)
			}
		}
		keep, err := kept(ctx, ids, data)
		if err != nil {
			return fmt.Errorf("list the state of %s: %w", src.Name, err)
		}
		var gone []debezium.Change
		for i, s := range page {
			if keep[i] {
				continue
			}
			row := data[i]
			key := make(map[string]any, len(src.Key))
			for _, k := range src.Key {
				key[k] = row[k]
			}
			gone = append(gone, debezium.Change{Kind: debezium.KindChange, Op: debezium.OpDelete, Key: key, Before: key, Position: at(s.pos)})
		}
		if n := len(page); n > 0 {
			after = page[n-1].id
		}
		if len(gone) > 0 {
			if err := r.env.Engine.ProcessChanges(ctx, src.Name, gone); err != nil {
				return err
			}
			r.res.SourceDeleted += int64(len(gone))
		}
		if len(page) < r.opts.Chunk {
			return nil
		}
	}
}

// has reports, for each of rows (state rows of src, their data), whether
// the table holds its key in tx's snapshot. Each key value is given as the
// state holds it, cast as the key column compares (a bytea's base64
// decoded): the text of a timestamp is not PostgreSQL's, but casts to it.
func (q *sourceQuery) has(ctx context.Context, tx pgx.Tx, src *projections.Source, rows []map[string]any) ([]bool, error) {
	out := make([]bool, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	// One array per key column, whatever the page's size: a parameter per
	// value would pass PostgreSQL's 65,535 with a large --chunk.
	idx := make([]int32, 0, len(rows))
	cols := make([][]string, len(src.Key))
	for i, row := range rows {
		texts := make([]string, len(src.Key))
		whole := true
		for k, col := range src.Key {
			texts[k], whole = text(row[col])
			if !whole {
				break
			}
		}
		if !whole {
			out[i] = true // a key that is no scalar: kept, as no delete could name it
			continue
		}
		idx = append(idx, int32(i))
		for k := range src.Key {
			cols[k] = append(cols[k], texts[k])
		}
	}
	args := []any{idx}
	arrays, names, values := []string{"$1::int[]"}, []string{"i"}, make([]string, len(src.Key))
	for k, col := range src.Key {
		args = append(args, cols[k])
		name := "k" + strconv.Itoa(k)
		arrays, names = append(arrays, "$"+strconv.Itoa(k+2)+"::text[]"), append(names, name)
		values[k] = "v." + name + q.casts[k]
		if ct, ok := src.Columns[col]; ok && ct.Name == "bytea" && !ct.Array {
			values[k] = "decode(v." + name + ", 'base64')"
		}
	}
	found, err := tx.Query(ctx, `SELECT v.i FROM unnest(`+strings.Join(arrays, ", ")+`) AS v(`+strings.Join(names, ", ")+`)
		WHERE EXISTS (SELECT 1 FROM `+q.table.Sanitize()+` t WHERE (`+q.keyList+`) = (`+strings.Join(values, ", ")+`))`, args...)
	if err != nil {
		return nil, fmt.Errorf("look the rows up in %s: %w", q.table.Sanitize(), err)
	}
	defer found.Close()
	for found.Next() {
		var i int32
		if err := found.Scan(&i); err != nil {
			return nil, err
		}
		out[i] = true
	}
	return out, found.Err()
}

// text is the text of a state row's key value, as a parameter takes it.
func text(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}
