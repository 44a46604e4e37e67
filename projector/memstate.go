package projector

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/projections"
)

// memState is a store in the memory of the process, for running projections
// without PostgreSQL (`projector test`). It must compute exactly what state
// computes in SQL: the position guard, TOAST merges and patches of apply,
// and the rows ->> lookups find. One transaction runs at a time, under mu,
// and a failed one is rolled back from its undo log.
type memState struct {
	mu      sync.Mutex
	rows    map[string]map[string]memRow // source → key → row
	pend    []pendingDoc
	nextID  int64
	revs    map[string]map[string]int64  // view → doc id → rev
	marks   map[string]mark              // topic/partition → watermark
	cuts    map[string]debezium.Position // source → newest truncate
	undoLog []func()
	// conflicts are the docs set aside for a conflict (conflictstore.go).
	conflicts map[conflictKey]conflictRow
	// byValue indexes the rows of a source by a column's value, for the
	// columns rowsByColumn has looked rows up by: source → column → index.
	// put keeps it up to date; without it a case's records cost the square
	// of their number.
	byValue map[string]map[string]valueIndex
}

type memRow struct {
	data         map[string]any
	posHi, posLo int64
	deleted      bool
}

func newMemState() *memState {
	return &memState{rows: map[string]map[string]memRow{}, revs: map[string]map[string]int64{}, marks: map[string]mark{},
		cuts: map[string]debezium.Position{}, byValue: map[string]map[string]valueIndex{}}
}

func (s *memState) migrate(context.Context, *projections.Plan) error { return nil }

// snapshot is update: a memory state's transactions run one at a time.
func (s *memState) snapshot(ctx context.Context, fn func(stateTx) error) error {
	return s.update(ctx, fn)
}

func (s *memState) update(ctx context.Context, fn func(stateTx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	s.undoLog = s.undoLog[:0]
	if err := fn(memTx{s}); err != nil {
		for i := len(s.undoLog) - 1; i >= 0; i-- {
			s.undoLog[i]()
		}
		s.undoLog = s.undoLog[:0]
		return err
	}
	s.undoLog = s.undoLog[:0]
	return nil
}

func (s *memState) pendingBatchIDs(context.Context) ([]int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]int64, len(s.pend))
	for i, d := range s.pend {
		ids[i] = d.ID
	}
	return ids, nil
}

func (s *memState) pending(_ context.Context, ids []int64) ([]pendingDoc, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []pendingDoc
	for _, d := range s.pend {
		if slices.Contains(ids, d.ID) {
			out = append(out, d)
		}
	}
	return out, nil
}

func (s *memState) forgetPending(_ context.Context, ids []int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pend = slices.DeleteFunc(s.pend, func(d pendingDoc) bool { return slices.Contains(ids, d.ID) })
	return nil
}

func (s *memState) finish(ctx context.Context, ids []int64, list []*mark) error {
	if err := s.forgetPending(ctx, ids); err != nil {
		return err
	}
	return s.saveMarks(ctx, list)
}

func (s *memState) forgetWatermarks(_ context.Context, topics []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, w := range s.marks {
		if slices.Contains(topics, w.Topic) {
			delete(s.marks, k)
		}
	}
	return nil
}

func (s *memState) forgetWatermarksPast(_ context.Context, ends map[string]map[int32]int64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for k, w := range s.marks {
		if end, ok := ends[w.Topic][w.Partition]; ok && w.Offset > end {
			delete(s.marks, k)
			n++
		}
	}
	return n, nil
}

// saveMarks keeps the newest offset and position per partition, as the
// SQL upsert of finish does; nothing reads them back yet but they cost nothing.
func (s *memState) saveMarks(_ context.Context, list []*mark) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range list {
		k := fmt.Sprintf("%s/%d", w.Topic, w.Partition)
		old, ok := s.marks[k]
		if !ok {
			s.marks[k] = *w
			continue
		}
		old.Offset = max(old.Offset, w.Offset)
		if old.PosHi < w.PosHi || (old.PosHi == w.PosHi && old.PosLo < w.PosLo) {
			old.PosHi, old.PosLo = w.PosHi, w.PosLo
		}
		s.marks[k] = old
	}
	return nil
}

func (s *memState) liveRows(_ context.Context, src *projections.Source, after string, started bool, limit int) ([]stateRow, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []stateRow
	for _, k := range slices.Sorted(maps.Keys(s.rows[src.Name])) {
		r := s.rows[src.Name][k]
		if r.deleted || started && k <= after {
			continue
		}
		if len(out) == limit {
			break
		}
		out = append(out, stateRow{Key: k, Data: cloneRow(r.data)})
	}
	return out, nil
}

func (s *memState) groups(_ context.Context, v *projections.View, after string, started bool, limit int) ([]map[string]any, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(v.IDColumns) > 1 {
		return s.tupleGroups(v, after, started, limit)
	}
	byGroup := map[string]map[string]any{}
	for _, r := range s.rows[v.Root.Name] {
		if r.deleted {
			continue
		}
		g, ok := groupText(v, r.data)
		if ok && (!started || g > after) {
			if _, seen := byGroup[g]; !seen {
				byGroup[g] = r.data
			}
		}
	}
	var out []map[string]any
	last := ""
	for _, g := range slices.Sorted(maps.Keys(byGroup)) {
		if len(out) == limit {
			break
		}
		out = append(out, cloneRow(byGroup[g]))
		last = g
	}
	return out, last, nil
}

// tupleGroups is state.tupleGroups: groups in the order of their values,
// after the JSON array of texts after.
func (s *memState) tupleGroups(v *projections.View, after string, started bool, limit int) ([]map[string]any, string, error) {
	var from []string
	if started {
		if err := json.Unmarshal([]byte(after), &from); err != nil {
			return nil, "", fmt.Errorf("list groups of %s: cursor %q is no tuple", v.Name, after)
		}
	}
	type group struct {
		vals []string
		row  map[string]any
	}
	byGroup := map[string]group{}
	for _, r := range s.rows[v.Root.Name] {
		vals, ok := pick(r.data, v.IDColumns)
		if r.deleted || !ok {
			continue
		}
		texts := make([]string, len(vals))
		for i, x := range vals {
			texts[i], _ = text(x)
		}
		id, _ := docID(vals)
		if _, seen := byGroup[id]; !seen && (!started || slices.Compare(texts, from) > 0) {
			byGroup[id] = group{texts, r.data}
		}
	}
	groups := slices.SortedFunc(maps.Values(byGroup), func(a, b group) int { return slices.Compare(a.vals, b.vals) })
	var out []map[string]any
	var last []string
	for _, g := range groups[:min(limit, len(groups))] {
		out = append(out, cloneRow(g.row))
		last = g.vals
	}
	if len(out) == 0 {
		return nil, "", nil
	}
	cursor, err := json.Marshal(last)
	return out, string(cursor), err
}

// groupText renders a group key as groupExpr does in SQL: ->> of one
// column (NULL for a missing one), or jsonb_build_array(…)::text.
func groupText(v *projections.View, row map[string]any) (string, bool) {
	if len(v.IDColumns) == 1 {
		return text(row[v.IDColumns[0]])
	}
	parts := make([]string, len(v.IDColumns))
	for i, c := range v.IDColumns {
		t, ok := text(row[c])
		if !ok {
			parts[i] = "null"
			continue
		}
		parts[i] = strconv.Quote(t)
		if b, err := json.Marshal(t); err == nil {
			parts[i] = string(b)
		}
	}
	return "[" + strings.Join(parts, ", ") + "]", true
}

// memTx is a transaction of a memState: its methods run under mu.
type memTx struct{ s *memState }

func (t memTx) apply(_ context.Context, src *projections.Source, changes []rowChange, shape rowShape) ([]applied, error) {
	s := t.s
	table := s.rows[src.Name]
	if table == nil {
		table = map[string]memRow{}
		s.rows[src.Name] = table
	}
	var out []applied
	for _, c := range changes {
		old, exists := table[c.Key]
		live := exists && !old.deleted
		var data map[string]any
		switch {
		case c.Patch:
			if exists && old.deleted && c.PosHi == old.posHi && c.PosLo == old.posLo {
				// At its tombstone's own position: replayed, stale (see
				// applySQL).
				out = append(out, applied{Key: c.Key, Unviable: true})
				continue
			}
			if !live && (!exists || !behind(c, old)) {
				out = append(out, applied{Key: c.Key, Unbased: true})
				continue
			}
			base := c.Data
			if live {
				base = old.data
			}
			patched, err := jsonbPatch(jsonbTruncate(base, c.PatchTruncate), c.PatchSet, c.PatchUnset)
			if errors.Is(err, errPathNotViable) {
				out = append(out, applied{Key: c.Key, Unviable: true})
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("apply changes to state of %s: %w", src.Name, err)
			}
			if checkIndexed(src, patched, false) != nil {
				out = append(out, applied{Key: c.Key, Oversized: true})
				continue
			}
			data = patched
		case c.Merge && live:
			data = merged(old.data, c)
		default:
			data = c.Data
		}
		// The stored jsonb is what PostgreSQL reads back: round-trip through
		// JSON so that values have the types decodeRow gives.
		data, err := normalize(data)
		if err != nil {
			return nil, fmt.Errorf("apply changes to state of %s: %w", src.Name, err)
		}
		if exists && behind(c, old) {
			continue // the position guard
		}
		key := c.Key
		s.undoLog = append(s.undoLog, func() { s.put(src.Name, key, old, exists) })
		s.put(src.Name, key, memRow{data: data, posHi: c.PosHi, posLo: c.PosLo, deleted: c.Deleted}, true)
		a := applied{Key: key, New: slimRow(data, shape.New), NewDeleted: c.Deleted}
		if live && !shape.SkipOld {
			a.Old = slimRow(old.data, shape.Old)
		}
		out = append(out, a)
	}
	return out, nil
}

// behind says whether c is older than the stored row: the position guard
// of state.applySQL.
func behind(c rowChange, stored memRow) bool {
	return !(debezium.Position{Hi: c.PosHi, Lo: c.PosLo}).Replaces(debezium.Position{Hi: stored.posHi, Lo: stored.posLo})
}

func (t memTx) rowsByKey(_ context.Context, src *projections.Source, keys []string) ([]stateRow, error) {
	table := t.s.rows[src.Name]
	var out []stateRow
	for _, k := range slices.Compact(slices.Sorted(slices.Values(keys))) {
		if r, ok := table[k]; ok {
			out = append(out, stateRow{Key: k, Data: cloneRow(r.data), Deleted: r.deleted})
		}
	}
	return out, nil
}

func (t memTx) truncations(context.Context) (map[string]debezium.Position, error) {
	return maps.Clone(t.s.cuts), nil
}

func (t memTx) truncate(_ context.Context, src *projections.Source, pos debezium.Position) error {
	prev, ok := t.s.cuts[src.Name]
	if ok && prev.Compare(pos) >= 0 {
		return nil
	}
	t.s.cuts[src.Name] = pos
	t.s.undoLog = append(t.s.undoLog, func() {
		if ok {
			t.s.cuts[src.Name] = prev
		} else {
			delete(t.s.cuts, src.Name)
		}
	})
	return nil
}

func (t memTx) liveBefore(_ context.Context, src *projections.Source, pos debezium.Position, after *string, limit int) ([]stateRow, error) {
	var out []stateRow
	for _, k := range slices.Sorted(maps.Keys(t.s.rows[src.Name])) {
		if len(out) == limit {
			break
		}
		r := t.s.rows[src.Name][k]
		if (after == nil || k > *after) && !r.deleted && (debezium.Position{Hi: r.posHi, Lo: r.posLo}).Compare(pos) < 0 {
			out = append(out, stateRow{Key: k, Data: cloneRow(r.data)})
		}
	}
	return out, nil
}

// rowsByColumn returns the rows in key order: PostgreSQL gives no order,
// and one that does not depend on map iteration keeps test runs repeatable.
func (t memTx) rowsByColumn(_ context.Context, src *projections.Source, by []columnIn, cols []string, limit int) ([]stateRow, error) {
	want := make([]map[string]bool, len(by))
	for i, c := range by {
		want[i] = make(map[string]bool, len(c.vals))
		for _, v := range c.vals {
			want[i][v] = true
		}
	}
	matches := func(row map[string]any) bool {
		for i, c := range by {
			if v, ok := text(row[c.col]); !ok || !want[i][v] {
				return false
			}
		}
		return true
	}
	table := t.s.rows[src.Name]
	// The rows holding one of the first column's values, which matches
	// checks against every column.
	var keys []string
	if len(by) == 0 {
		keys = slices.Collect(maps.Keys(table))
	} else {
		idx := t.s.index(src.Name, by[0].col)
		for v := range want[0] {
			for k := range idx[v] {
				keys = append(keys, k)
			}
		}
	}
	var out []stateRow
	for _, k := range keys {
		if r := table[k]; !r.deleted && matches(r.data) {
			out = append(out, stateRow{Key: k, Data: slimRow(r.data, cols)})
		}
	}
	slices.SortFunc(out, func(a, b stateRow) int { return cmp.Compare(a.Key, b.Key) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (t memTx) eachRow(ctx context.Context, src *projections.Source, by []columnIn, cols []string, page int, fn func([]stateRow) error) error {
	rows, _ := t.rowsByColumn(ctx, src, by, cols, 0)
	for len(rows) > 0 {
		n := min(page, len(rows))
		if err := fn(rows[:n]); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

func (t memTx) insertPending(_ context.Context, docs []pendingDoc) ([]pendingDoc, error) {
	s := t.s
	n := len(s.pend)
	for i := range docs {
		s.nextID++
		docs[i].ID = s.nextID
		s.pend = append(s.pend, docs[i])
	}
	s.undoLog = append(s.undoLog, func() { s.pend = s.pend[:n] })
	return docs, nil
}

// collectTombstones keeps every tombstone: a memory state lives as long as
// one `projector test` run.
func (s *memState) collectTombstones(context.Context, *projections.Source, time.Duration, int) (int64, error) {
	return 0, nil
}

// deletedDocs: a memory state never collects revisions.
func (memTx) deletedDocs(context.Context, string, []string) error { return nil }

// collectRevisions keeps every revision, as collectTombstones keeps every
// tombstone.
func (s *memState) collectRevisions(context.Context, string, time.Duration, int) (int64, error) {
	return 0, nil
}

func (t memTx) revisions(_ context.Context, view string, ids []string, next bool) (map[string]int64, error) {
	s := t.s
	if !next {
		out := make(map[string]int64, len(ids))
		for _, id := range ids {
			if rev, ok := s.revs[view][id]; ok {
				out[id] = rev
			}
		}
		return out, nil
	}
	revs := s.revs[view]
	if revs == nil {
		revs = map[string]int64{}
		s.revs[view] = revs
	}
	out := make(map[string]int64, len(ids))
	for _, id := range ids {
		old, had := revs[id]
		s.undoLog = append(s.undoLog, func() {
			if had {
				revs[id] = old
			} else {
				delete(revs, id)
			}
		})
		revs[id] = old + 1
		out[id] = old + 1
	}
	return out, nil
}

// normalize round-trips a row through JSON, as storing it in jsonb does.
func normalize(row map[string]any) (map[string]any, error) {
	b, err := json.Marshal(row)
	if err != nil {
		return nil, fmt.Errorf("encode state row: %w", err)
	}
	out, err := decodeRow(b)
	if err != nil {
		return nil, err
	}
	jsonbNumbers(out)
	return out, nil
}

// jsonbNumbers writes the numbers of a decoded row, at any depth, as
// PostgreSQL's jsonb gives them back: as numeric text, in plain digits
// with the scale the literal had (1e2 is 100, 1.50 stays 1.50, -0.0 is
// 0.0, 1E-7 is 0.0000001), so that expressions and documents see the
// same numbers on both states.
func jsonbNumbers(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if n, ok := e.(json.Number); ok {
				x[k] = jsonbNumber(n)
			} else {
				jsonbNumbers(e)
			}
		}
	case []any:
		for i, e := range x {
			if n, ok := e.(json.Number); ok {
				x[i] = jsonbNumber(n)
			} else {
				jsonbNumbers(e)
			}
		}
	}
}

// slimRow copies the columns cols of a row (all of them when cols is nil),
// as slim does in SQL: a missing column comes out as null.
func slimRow(row map[string]any, cols []string) map[string]any {
	if cols == nil || row == nil {
		return cloneRow(row)
	}
	out := make(map[string]any, len(cols))
	for _, c := range cols {
		out[c] = cloneValue(row[c])
	}
	return out
}

// cloneRow copies a row deeply so that callers cannot change the state.
func cloneRow(row map[string]any) map[string]any {
	if row == nil {
		return nil
	}
	return cloneValue(row).(map[string]any)
}

func cloneValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = cloneValue(e)
		}
		return m
	case []any:
		a := make([]any, len(x))
		for i, e := range x {
			a[i] = cloneValue(e)
		}
		return a
	}
	return v
}
