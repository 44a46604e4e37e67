package projector

import (
	"context"
	"errors"

	"github.com/projectorhq/projector/debezium"
)

// RowAt is the state key of a changed row and the change's position.
type RowAt struct {
	Key      string
	Position debezium.Position
}

// Keys decodes records as Process would and returns, by source name, the
// state key and position of every row they change (records that change no
// row add none; one whose value cannot be decoded adds its key, when that
// reads, at no position). A rebuild uses it to learn which
// rows a re-read of the sources covered.
func (e *Engine) Keys(ctx context.Context, recs []Record) (map[string][]RowAt, error) {
	perSource, dead, _, err := e.decode(ctx, recs)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]RowAt, len(perSource))
	for src, changes := range perSource {
		rows := make([]RowAt, 0, len(changes))
		for _, c := range changes {
			if !c.Truncate { // a truncate names no row
				rows = append(rows, RowAt{Key: c.Key, Position: debezium.Position{Hi: c.PosHi, Lo: c.PosLo}})
			}
		}
		out[src.Name] = rows
	}
	// A record whose value is a dead letter still names its row when its
	// key reads: the row is there (a snapshot read it), at no position.
	for _, d := range dead {
		sd := e.decoders[d.Record.Topic]
		if sd == nil {
			continue
		}
		// The key alone, as a tombstone's: its Avro schema may be one the
		// registry was not asked for yet (the value failed first).
		ch, err := e.decodeRecord(ctx, sd.dec, Record{Topic: d.Record.Topic, Key: d.Record.Key})
		var unreachable *registryError
		if errors.As(err, &unreachable) {
			return nil, err // the registry is down: the caller retries
		}
		if err != nil || ch.Kind != debezium.KindTombstone || len(ch.Key) == 0 {
			continue
		}
		rc, ok, err := toRowChange(sd.src, debezium.Change{Kind: debezium.KindChange, Op: debezium.OpDelete, Key: ch.Key, Before: map[string]any{}})
		if err == nil && ok {
			out[sd.src.Name] = append(out[sd.src.Name], RowAt{Key: rc.Key})
		}
	}
	return out, nil
}
