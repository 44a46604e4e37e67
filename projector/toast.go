package projector

import (
	"maps"
	"slices"

	"github.com/projectorhq/projector/projections"
)

// A change whose columns carry the TOAST placeholder (debezium.Change's
// Unchanged) is a merge: those columns keep their stored values, under the
// change's. Only those: a column the change lacks for another reason (one
// dropped from the table since) is gone from the row, as from the source.

// keptUnchanged is the columns of unchanged the state keeps (a merge of
// none is a plain upsert).
func keptUnchanged(src *projections.Source, unchanged []string) []string {
	if len(src.Kept) == 0 || len(unchanged) == 0 {
		return unchanged
	}
	var out []string
	for _, c := range unchanged {
		if slices.Contains(src.Kept, c) {
			out = append(out, c)
		}
	}
	return out
}

// mergeSQL is the merge of input row i into the stored row o, in
// state.applySQL.
const mergeSQL = `(SELECT coalesce(jsonb_object_agg(u.k, u.v), '{}')
					FROM jsonb_each(o.data) AS u(k, v) WHERE u.k = ANY(i.unchanged)) || i.data`

// merged is the merge of c into the stored row data, mergeSQL in memory.
func merged(data map[string]any, c rowChange) map[string]any {
	out := make(map[string]any, len(c.Data)+len(c.Unchanged))
	for _, k := range c.Unchanged {
		if v, ok := data[k]; ok {
			out[k] = v
		}
	}
	maps.Copy(out, c.Data)
	return out
}
