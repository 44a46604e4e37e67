package projector

import (
	"context"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/projections"
)

// A Kafka tombstone carries no position. Where it is all a delete leaves
// (a source with tombstones: delete), it deletes the row as the state
// holds it: at the stored row's position, so the delete replaces the row
// and whatever comes after it in the topic replaces the delete. That is
// the order of the partition, the only one a tombstone has: replayed, the
// tombstone deletes again whatever the row became, and the records after
// it write it again.

// placeTombstones gives each tombstone of changes (rowChange.Tombstone)
// the position of the key's change before it in the batch, or else of the
// live row the state holds, and drops those of rows that are not there
// (never seen, or deleted already), counting them in gone.
func (e *Engine) placeTombstones(ctx context.Context, tx stateTx, src *projections.Source, changes []rowChange) (_ []rowChange, gone int, _ error) {
	var keys []string
	for _, c := range changes {
		if c.Tombstone {
			keys = append(keys, c.Key)
		}
	}
	if len(keys) == 0 {
		return changes, 0, nil
	}
	stored, err := tx.positions(ctx, src, keys)
	if err != nil {
		return nil, 0, err
	}
	type last struct {
		pos  debezium.Position
		live bool
	}
	latest := make(map[string]last, len(keys))
	for k, p := range stored {
		latest[k] = last{p, true}
	}
	out := changes[:0:0]
	for _, c := range changes {
		pos := debezium.Position{Hi: c.PosHi, Lo: c.PosLo}
		if !c.Tombstone {
			if l, ok := latest[c.Key]; !ok || pos.Replaces(l.pos) {
				latest[c.Key] = last{pos, !c.Deleted}
			}
			out = append(out, c)
			continue
		}
		l, ok := latest[c.Key]
		if !ok || !l.live {
			gone++
			continue
		}
		c.PosHi, c.PosLo, c.Tombstone = l.pos.Hi, l.pos.Lo, false
		latest[c.Key] = last{l.pos, false}
		out = append(out, c)
	}
	return out, gone, nil
}

func (t pgTx) positions(ctx context.Context, src *projections.Source, keys []string) (map[string]debezium.Position, error) {
	rows, err := t.tx.Query(ctx, `SELECT key, pos_hi, pos_lo FROM `+t.s.table(src)+` WHERE key = ANY($1) AND NOT deleted`, keys)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[string]debezium.Position, len(keys))
	for rows.Next() {
		var k string
		var p debezium.Position
		if err := rows.Scan(&k, &p.Hi, &p.Lo); err != nil {
			return nil, err
		}
		out[k] = p
	}
	return out, rows.Err()
}

func (t memTx) positions(_ context.Context, src *projections.Source, keys []string) (map[string]debezium.Position, error) {
	out := make(map[string]debezium.Position, len(keys))
	for _, k := range keys {
		if r, ok := t.s.rows[src.Name][k]; ok && !r.deleted {
			out[k] = debezium.Position{Hi: r.posHi, Lo: r.posLo}
		}
	}
	return out, nil
}
