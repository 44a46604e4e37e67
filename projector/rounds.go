package projector

import "github.com/projectorhq/projector/debezium"

// fold keeps, per key, only what the state needs to reach the end of the
// batch. A full change (an upsert or a delete) makes the key's earlier
// changes in the batch moot: their values never reach a sink, and the
// affected documents are found from the stored row before the batch and the
// final one (an item that moved 1→2→3 within a batch leaves order 1 and
// joins order 3; order 2 never showed it). A merge (TOAST) or patch applies
// on top of what came before, so it is kept with it (one round each; the
// docs they affect are found once, after the last: see applyChanges). A
// change older than one already seen for its key is dropped: the position
// guard would skip it. older counts those, and superseded, by key, the
// changes a later one made moot: they count as that one does, applied if it
// is, stale if the stored row was newer than both (as two batches would
// have counted them).
func fold(changes []rowChange) (out []rowChange, older int, superseded map[string]int) {
	type run struct {
		idx []int
		top debezium.Position
	}
	keys := make(map[string]*run, len(changes))
	keep := make([]bool, len(changes))
	dropped := false
	for i, c := range changes {
		pos := debezium.Position{Hi: c.PosHi, Lo: c.PosLo}
		r := keys[c.Key]
		if r == nil {
			keys[c.Key] = &run{idx: []int{i}, top: pos}
			keep[i] = true
			continue
		}
		if !pos.Replaces(r.top) {
			dropped = true
			older++
			continue
		}
		if !c.Merge && !c.Patch {
			for _, j := range r.idx {
				keep[j] = false
			}
			if superseded == nil {
				superseded = map[string]int{}
			}
			superseded[c.Key] += len(r.idx)
			r.idx = r.idx[:0]
			dropped = true
		}
		r.idx = append(r.idx, i)
		keep[i] = true
		r.top = pos
	}
	if !dropped {
		return changes, 0, nil
	}
	out = make([]rowChange, 0, len(keys))
	for i, c := range changes {
		if keep[i] {
			out = append(out, c)
		}
	}
	return out, older, superseded
}

// rounds splits changes so that no key occurs twice in one round, keeping
// each key's changes in order.
func rounds(changes []rowChange) [][]rowChange {
	var out [][]rowChange
	seen := map[string]int{}
	for _, c := range changes {
		n := seen[c.Key]
		seen[c.Key] = n + 1
		if n == len(out) {
			out = append(out, nil)
		}
		out[n] = append(out[n], c)
	}
	return out
}
