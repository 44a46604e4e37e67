package projector

import (
	"context"

	"github.com/projectorhq/projector/debezium"
)

// RowAt is the state key of a changed row and the change's position.
type RowAt struct {
	Key      string
	Position debezium.Position
}

// Keys decodes records as Process would and returns, by source name, the
// state key and position of every row they change (records that change no
// row, or cannot be decoded, add none). A rebuild uses it to learn which
// rows a re-read of the sources covered.
func (e *Engine) Keys(ctx context.Context, recs []Record) (map[string][]RowAt, error) {
	perSource, _, _, err := e.decode(ctx, recs)
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
	return out, nil
}
