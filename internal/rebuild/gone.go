package rebuild

// The rows a re-read of the sources finds gone (--from source, --from
// signal) are deleted from the state through the engine, a page at a time.

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/projector"
)

// unprojectedMax is the most keys of source rows that could not be
// projected a rebuild --from source keeps: a key is 2 kB at most.
var unprojectedMax = 10_000

// unprojected are the keys of the source rows read that the engine could
// not project (dead letters). The source has them, but their state rows
// were not written at the snapshot's position, which would otherwise have
// them taken for rows gone. Past unprojectedMax of them, over is set and
// none is kept: the rows gone are then left as they are, as a rebuild that
// cannot tell them from rows read must.
type unprojected struct {
	keys map[string]bool
	over bool
}

// add keeps the keys of dead, dead letters of recs, whose state keys are
// ids.
func (u *unprojected) add(recs []projector.Record, ids []string, dead []projector.DeadLetter) {
	if len(dead) == 0 || u.over {
		return
	}
	byKey := make(map[string]string, len(recs))
	for i, rec := range recs {
		byKey[string(rec.Key)] = ids[i]
	}
	if u.keys == nil {
		u.keys = map[string]bool{}
	}
	for _, d := range dead {
		if id, ok := byKey[string(d.Record.Key)]; ok {
			u.keys[id] = true
		}
	}
	if len(u.keys) > unprojectedMax {
		u.keys, u.over = nil, true
	}
}

// deleteUnseen deletes, at position lsn, the live state rows of src the
// snapshot did not read: those still below lsn once its rows are applied,
// except the rows read that could not be projected (unproj).
func (r *run) deleteUnseen(ctx context.Context, src *projections.Source, unproj *unprojected, lsn int64) error {
	if unproj.over {
		r.opts.Log.Warn("--from source: rows gone from the source are not deleted: too many rows read could not be projected to tell them apart",
			"source", src.Name, "dead_letters", r.res.DeadLetters, "most", unprojectedMax)
		return nil
	}
	kept := func(context.Context, []string) (map[string]bool, error) { return unproj.keys, nil }
	return r.deleteStateRows(ctx, src, `s.pos_hi < $1`, lsn, kept, func(debezium.Position) debezium.Position {
		return debezium.Position{Hi: lsn}
	})
}

// deleteStateRows deletes, through the engine (so that every view follows),
// the live state rows of src (s) that match cond (SQL over the state
// table, with arg as $1) but those kept names among a page's keys; at
// gives each delete its position from the row's stored one.
func (r *run) deleteStateRows(ctx context.Context, src *projections.Source, cond string, arg any,
	kept func(ctx context.Context, keys []string) (map[string]bool, error), at func(stored debezium.Position) debezium.Position) error {
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
		ids := make([]string, len(page))
		for i, s := range page {
			ids[i] = s.id
		}
		keep, err := kept(ctx, ids)
		if err != nil {
			return fmt.Errorf("list the state of %s: %w", src.Name, err)
		}
		var gone []debezium.Change
		for _, s := range page {
			if keep[s.id] {
				continue
			}
			var row map[string]any
			d := json.NewDecoder(strings.NewReader(string(s.data)))
			d.UseNumber()
			if err := d.Decode(&row); err != nil {
				return fmt.Errorf("decode the state of %s: %w", src.Name, err)
			}
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
