package projector_test

// Review 34g: aggregates that drift. A seeded randomized differential test
// of group_by views (one column, and two columns of which one is nullable)
// with every aggregate, with and without its own where, over numeric(10,2),
// bigint, double precision, timestamptz and text values, and of aggregates
// over a nested one-to-many array; the workload has inserts, rows moving
// between groups several times within a batch, updates of the aggregated
// value only, deletes and re-creates of a key, nulls coming and going, TOAST
// merges (of the group column too), truncates, replays and reordering
// across keys, with batches small and large. Both engines (PostgreSQL state,
// which keeps groups, and memory) are compared with what PostgreSQL itself
// computes from the delivered rows (a real GROUP BY on 127.0.0.1:55432).
//
// R34G_SEED=N reruns one seed.

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

const r34gYAML = `
sources:
  facts:   { topic: t.public.facts, format: json, key: id, columns: { id: bigint, g: text, h: bigint, amt: "numeric(10,2)", qty: bigint, score: double precision, at: timestamptz, flag: text, note: text } }
  parents: { topic: t.public.parents, format: json, key: id, columns: { id: bigint, name: text } }
  items:   { topic: t.public.items, format: json, key: id, columns: { id: bigint, pid: bigint, amt: "numeric(10,2)", qty: bigint, score: double precision, at: timestamptz, flag: text } }
views:
  by_g:
    from: facts
    group_by: g
    fields:
      g: g
AGGS
    sinks: { postgres: {} }
  by_gh:
    from: facts
    group_by: [g, h]
    where: flag != "x"
    fields:
      g: g
      h: h
AGGS
    sinks: { postgres: {} }
  by_hn:
    from: facts
    group_by: [h, note]
    where: qty > 0 and g != "b"
    fields:
      h: h
      note: note
AGGS
    sinks: { postgres: {} }
  par:
    from: parents
    fields:
      id: id
      name: name
      items: { many: items, on: { pid: id }, fields: { id: id, amt: amt, qty: qty, score: score, at: at, flag: flag } }
      n: { agg: count, of: items }
      n_y: { agg: count, of: items, where: flag == "y" }
NESTED
    sinks: { postgres: {} }
`

// r34gAggCols are the aggregated columns and the aggregates over each.
var r34gAggCols = []struct {
	col   string
	funcs []string
}{
	{"amt", []string{"count", "sum", "min", "max", "avg"}},
	{"qty", []string{"count", "sum", "min", "max", "avg"}},
	{"score", []string{"sum", "min", "max", "avg"}},
	{"at", []string{"count", "min", "max"}},
	{"note", []string{"min", "max"}},
}

// r34gFields lists (field name, func, column, where) of a group view.
func r34gFields(nested bool) [][4]string {
	var out [][4]string
	if !nested {
		out = append(out, [4]string{"n", "count", "", ""}, [4]string{"n_y", "count", "", `flag == "y"`})
	}
	for _, c := range r34gAggCols {
		if nested && c.col == "note" {
			continue
		}
		for _, f := range c.funcs {
			out = append(out, [4]string{f + "_" + c.col, f, c.col, ""})
			out = append(out, [4]string{f + "_" + c.col + "_y", f, c.col, `flag == "y"`})
		}
	}
	return out
}

func r34gYAMLText() string {
	var grp, nst strings.Builder
	for _, f := range r34gFields(false) {
		fmt.Fprintf(&grp, "      %s: { agg: %s", f[0], f[1])
		if f[2] != "" {
			fmt.Fprintf(&grp, ", of: %s", f[2])
		}
		if f[3] != "" {
			fmt.Fprintf(&grp, ", where: '%s'", f[3])
		}
		grp.WriteString(" }\n")
	}
	for _, f := range r34gFields(true) {
		fmt.Fprintf(&nst, "      %s: { agg: %s, of: items.%s", f[0], f[1], f[2])
		if f[3] != "" {
			fmt.Fprintf(&nst, ", where: '%s'", f[3])
		}
		nst.WriteString(" }\n")
	}
	y := strings.ReplaceAll(r34gYAML, "AGGS\n", grp.String())
	return strings.ReplaceAll(y, "NESTED\n", nst.String())
}

var (
	r34gGs     = []any{"a", "b", "B", "é", nil}
	r34gHs     = []any{int64(1), int64(2), nil}
	r34gAmts   = []any{"-3.25", "0.00", "1.50", "9.99", "10.00", "99999999.99", nil}
	r34gQtys   = []any{int64(1), int64(3), int64(-2), int64(0), int64(9223372036854775807), int64(-9223372036854775808), nil}
	r34gScores = []any{json.Number("0.1"), json.Number("0.2"), json.Number("2.5"), json.Number("-0.000001"), json.Number("1000000000000000"), nil}
	r34gAts    = []any{"2026-01-01T00:00:00Z", "2026-01-01T00:00:00.5Z", "2025-12-31T23:59:59.999999Z", "2026-06-01T12:00:00Z", nil}
	r34gFlags  = []any{"y", "n", "x", nil}
	r34gNotes  = []any{"", "a", "B", "é", "10", nil}
)

type r34gRow = map[string]any

type r34gRec struct {
	src, key string // key "" for a truncate
	lsn      int64
	row      r34gRow // the row after the record (nil: deleted)
	rec      projector.Record
	trunc    bool
}

type r34gGen struct {
	rnd  *rand.Rand
	lsn  int64
	rows map[string]map[string]r34gRow
	recs []r34gRec
}

func (g *r34gGen) pick(vals []any) any { return vals[g.rnd.IntN(len(vals))] }

func (g *r34gGen) fresh(src string, id int64) r34gRow {
	r := r34gRow{"id": id, "amt": g.pick(r34gAmts), "qty": g.pick(r34gQtys), "score": g.pick(r34gScores), "at": g.pick(r34gAts), "flag": g.pick(r34gFlags)}
	switch src {
	case "facts":
		r["g"], r["h"], r["note"] = g.pick(r34gGs), g.pick(r34gHs), g.pick(r34gNotes)
	case "items":
		pid := any(int64(1 + g.rnd.IntN(6)))
		if g.rnd.IntN(8) == 0 {
			pid = nil
		}
		r["pid"] = pid
	case "parents":
		return r34gRow{"id": id, "name": fmt.Sprint("p", g.rnd.IntN(3))}
	}
	return r
}

// emit records a change of src's row id to row (nil: delete); toast lists
// the columns sent as the TOAST placeholder (unchanged).
func (g *r34gGen) emit(src string, id int64, row r34gRow, toast []string) {
	g.lsn += 10
	key := map[string]any{"id": id}
	old := g.rows[src][fmt.Sprint(id)]
	op := "c"
	if old != nil {
		op = "u"
	}
	var after r34gRow
	if row == nil {
		op = "d"
		delete(g.rows[src], fmt.Sprint(id))
	} else {
		g.rows[src][fmt.Sprint(id)] = row
		after = r34gRow{}
		for k, v := range row {
			after[k] = v
		}
		for _, c := range toast {
			after[c] = "__debezium_unavailable_value"
		}
	}
	var before r34gRow
	if op == "d" {
		before = key
	}
	g.recs = append(g.recs, r34gRec{src: src, key: fmt.Sprint(id), lsn: g.lsn, row: row,
		rec: projector.Record{Topic: "t.public." + src, Key: must(json.Marshal(key)), Value: envelope(src, op, before, after, g.lsn)}})
}

func (g *r34gGen) step() {
	r := g.rnd
	src := []string{"facts", "facts", "facts", "facts", "items", "items", "parents"}[r.IntN(7)]
	n := map[string]int{"facts": 24, "items": 30, "parents": 7}[src]
	id := int64(1 + r.IntN(n))
	cur := g.rows[src][fmt.Sprint(id)]
	copyRow := func() r34gRow {
		out := r34gRow{}
		for k, v := range cur {
			out[k] = v
		}
		return out
	}
	switch k := r.IntN(100); {
	case k < 1:
		g.lsn += 10
		g.rows[src] = map[string]r34gRow{}
		g.recs = append(g.recs, r34gRec{src: src, lsn: g.lsn, trunc: true,
			rec: projector.Record{Topic: "t.public." + src, Value: envelope(src, "t", nil, nil, g.lsn)}})
	case k < 12 && cur != nil:
		g.emit(src, id, nil, nil)
	case k < 18 && cur != nil:
		// Deleted and created again.
		g.emit(src, id, nil, nil)
		g.emit(src, id, g.fresh(src, id), nil)
	case k < 35 && cur != nil && src != "parents":
		// Only an aggregated value changes.
		row := copyRow()
		c := []string{"amt", "qty", "score", "at", "note", "flag"}[r.IntN(6)]
		if c == "note" && src != "facts" {
			c = "amt"
		}
		row[c] = g.pick(map[string][]any{"amt": r34gAmts, "qty": r34gQtys, "score": r34gScores, "at": r34gAts, "note": r34gNotes, "flag": r34gFlags}[c])
		g.emit(src, id, row, nil)
	case k < 50 && cur != nil && src == "facts":
		// Moves between groups, several times in a row.
		for range 1 + r.IntN(3) {
			row := copyRow()
			row["g"], row["h"] = g.pick(r34gGs), g.pick(r34gHs)
			if r.IntN(2) == 0 {
				row["amt"] = g.pick(r34gAmts)
			}
			g.emit(src, id, row, nil)
			cur = row
		}
	case k < 62 && cur != nil && src != "parents":
		// A TOAST merge: text columns unchanged, the others may change.
		row := copyRow()
		var toast []string
		for _, c := range []string{"g", "note", "flag"} {
			if _, ok := row[c]; ok && row[c] != nil && r.IntN(2) == 0 {
				toast = append(toast, c)
			}
		}
		for _, c := range []string{"amt", "qty", "h", "pid"} {
			if _, ok := row[c]; ok && r.IntN(2) == 0 {
				row[c] = g.pick(map[string][]any{"amt": r34gAmts, "qty": r34gQtys, "h": r34gHs, "pid": {int64(1), int64(2), int64(3), nil}}[c])
			}
		}
		g.emit(src, id, row, toast)
	default:
		g.emit(src, id, g.fresh(src, id), nil)
	}
}

// deliveries interleaves the records of different keys (each key's in
// order, a truncate a key of its own) and replays some earlier ones.
func (g *r34gGen) deliveries() []r34gRec {
	r := g.rnd
	queues := map[string][]r34gRec{}
	var keys []string
	for i, x := range g.recs {
		q := x.src + "/" + x.key
		if x.trunc {
			q = fmt.Sprint("#t", i)
		}
		if _, ok := queues[q]; !ok {
			keys = append(keys, q)
		}
		queues[q] = append(queues[q], x)
	}
	var out []r34gRec
	for len(keys) > 0 {
		i := r.IntN(min(len(keys), 5))
		k := keys[i]
		out = append(out, queues[k][0])
		if len(out) > 1 && r.IntN(10) == 0 {
			out = append(out, out[r.IntN(len(out)-1)])
		}
		queues[k] = queues[k][1:]
		if len(queues[k]) == 0 {
			keys = slices.Delete(keys, i, i+1)
		}
	}
	for i := range out {
		out[i].rec.Offset = int64(i)
	}
	return out
}

func TestR34gAggregatesAgainstSQL(t *testing.T) {
	seeds := []uint64{1, 2, 3}
	if s := os.Getenv("R34G_SEED"); s != "" {
		seeds = []uint64{must(strconv.ParseUint(s, 10, 64))}
	}
	if s := os.Getenv("R34G_SEEDS"); s != "" {
		seeds = nil
		for i := range must(strconv.Atoi(s)) {
			seeds = append(seeds, uint64(100+i))
		}
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("seed %d: R34G_SEED=%d go test -run TestR34gAggregatesAgainstSQL ./projector/", seed, seed)
				}
			})
			r34gRun(t, seed)
		})
	}
}

func r34gRun(t *testing.T, seed uint64) {
	ctx := context.Background()
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, reviewHead+r34gYAMLText(), nil)
	chunk := []int{0, 1, 2, 7}[seed%4]
	pgSink, memSink := newViewSink(), newViewSink()
	pgEng := crEngine(t, plan, pool, chunk, pgSink)
	memEng := crEngine(t, plan, nil, chunk, memSink)
	g := &r34gGen{rnd: rand.New(rand.NewPCG(seed, 34)), rows: map[string]map[string]r34gRow{"facts": {}, "items": {}, "parents": {}}}
	for range 900 {
		g.step()
	}
	recs := g.deliveries()
	st := &r34gState{rows: map[string]map[string]r34gRec{}, trunc: map[string]int64{}}
	check := func(label string) {
		t.Helper()
		want := r34gOracle(t, pool, st)
		bad := append(r34gDiff(t, "postgres", pgSink, want), r34gDiff(t, "memory", memSink, want)...)
		if len(bad) > 0 {
			if len(bad) > 30 {
				bad = bad[:30]
			}
			t.Fatalf("seed %d, %s:\n%s", seed, label, strings.Join(bad, "\n"))
		}
	}
	split := len(recs) * 3 / 4
	for start, batch := 0, 0; start < split; batch++ {
		n := 1 + g.rnd.IntN(6)
		if g.rnd.IntN(5) == 0 {
			n = 50 + g.rnd.IntN(200)
		}
		var b []projector.Record
		for _, x := range recs[start:min(start+n, split)] {
			b = append(b, x.rec)
			st.apply(x)
		}
		start += n
		switch g.rnd.IntN(25) {
		case 0:
			// A crash between the batch's state commit and its writes.
			if _, err := pgEng.Prepare(ctx, b); err != nil {
				t.Fatal(err)
			}
			pgEng = crEngine(t, plan, pool, chunk, pgSink)
			if err := pgEng.Recover(ctx); err != nil {
				t.Fatal(err)
			}
		case 1:
			pgEng = crEngine(t, plan, pool, chunk, pgSink) // a restart
		}
		for name, eng := range map[string]*projector.Engine{"postgres": pgEng, "memory": memEng} {
			dead, err := eng.Process(ctx, b)
			if err != nil {
				t.Fatalf("%s: batch %d: %v", name, batch, err)
			}
			for _, d := range dead {
				t.Fatalf("%s: batch %d: dead letter: %v", name, batch, d.Err)
			}
		}
		if batch%7 == 0 {
			check(fmt.Sprintf("after batch %d (record %d of %d)", batch, start, len(recs)))
		}
	}
	check("before two instances")
	// Two instances on one state, each taking some of every source's keys
	// (their partitions), concurrently; the memory engine takes all.
	pgEng2 := crEngine(t, plan, pool, chunk, pgSink)
	parts := map[bool][]projector.Record{}
	for _, x := range recs[split:] {
		a := x.trunc || len(x.key)%2 == 0 && x.key[len(x.key)-1]%2 == 0
		parts[a] = append(parts[a], x.rec)
		st.apply(x)
	}
	errs := make(chan error, 2)
	for i, eng := range []*projector.Engine{pgEng, pgEng2} {
		part := parts[i == 0]
		go func() {
			rnd := rand.New(rand.NewPCG(seed, uint64(i)))
			for start := 0; start < len(part); {
				n := 1 + rnd.IntN(8)
				if _, err := eng.Process(ctx, part[start:min(start+n, len(part))]); err != nil {
					errs <- err
					return
				}
				start += n
			}
			errs <- nil
		}()
	}
	for start := split; start < len(recs); start += 10 {
		if _, err := memEng.Process(ctx, func() []projector.Record {
			var b []projector.Record
			for _, x := range recs[start:min(start+10, len(recs))] {
				b = append(b, x.rec)
			}
			return b
		}()); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("two instances: %v", err)
		}
	}
	check("after two instances")
	t.Logf("seed %d (chunk %d): %d records, %d docs at the end", seed, chunk, len(recs), len(r34gOracle(t, pool, st)))
}
