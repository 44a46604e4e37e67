package projector_test

// The workload of TestReview32bCombinedFeaturesConverge: its generator,
// deliveries and the source rows they leave.

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/projectorhq/projector/projector"
)

type r32bRow = map[string]any

type r32bRec struct {
	qkey    string // delivery queue: one key's records stay in order
	src     string
	rowKey  string // "" for a truncate
	row     r32bRow
	rec     projector.Record
	seq     int
	isTrunc bool
}

type r32bGen struct {
	rnd    *rand.Rand
	rows   map[string]map[string]r32bRow
	recs   []r32bRec
	lsn    int64
	truncs int
	dead   map[string][]r32bRow // deleted rows, to re-create
}

func r32bStateKey(src string, row r32bRow) string {
	cols := r32bKeyCols[src]
	if len(cols) == 1 {
		return fmt.Sprint(row[cols[0]])
	}
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = fmt.Sprint(row[c])
	}
	b, _ := json.Marshal(parts)
	return string(b)
}

func (g *r32bGen) nilOr(v any, pNil int) any {
	if g.rnd.IntN(100) < pNil {
		return nil
	}
	return v
}

// r32bBiased picks one of the first two values mostly, so that some
// orders have many lines.
func r32bBiased[T any](r *rand.Rand, xs []T) T {
	if r.IntN(10) < 7 {
		return xs[r.IntN(2)]
	}
	return xs[r.IntN(len(xs))]
}

func r32bPick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

func (g *r32bGen) emit(src string, row r32bRow, del bool) {
	key := map[string]any{}
	for _, k := range r32bKeyCols[src] {
		key[k] = row[k]
	}
	sk := r32bStateKey(src, row)
	tbl := g.rows[src]
	if tbl == nil {
		tbl = map[string]r32bRow{}
		g.rows[src] = tbl
	}
	old, had := tbl[sk]
	if del && !had {
		return
	}
	g.lsn += 10
	op := "c"
	var before, after map[string]any
	if del {
		op = "d"
		if g.rnd.IntN(2) == 0 {
			before = key
		} else {
			before = old
		}
		delete(tbl, sk)
		g.dead[src] = append(g.dead[src], old)
	} else {
		if had {
			op = "u"
			if g.rnd.IntN(2) == 0 {
				before = old
			}
		}
		after = row
		tbl[sk] = row
	}
	g.recs = append(g.recs, r32bRec{qkey: src + "/" + sk, src: src, rowKey: sk, row: tbl[sk], seq: len(g.recs),
		rec: projector.Record{Topic: "t.public." + src, Key: must(json.Marshal(key)), Value: envelope(src, op, before, after, g.lsn)}})
}

func (g *r32bGen) truncate(src string) {
	g.lsn += 10
	g.truncs++
	for _, r := range g.rows[src] {
		g.dead[src] = append(g.dead[src], r)
	}
	g.rows[src] = map[string]r32bRow{}
	g.recs = append(g.recs, r32bRec{qkey: fmt.Sprintf("%s/#truncate%d", src, g.truncs), src: src, seq: len(g.recs), isTrunc: true,
		rec: projector.Record{Topic: "t.public." + src, Value: envelope(src, "t", nil, nil, g.lsn)}})
}

func (g *r32bGen) pickLive(src string) r32bRow {
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range g.rows[src] {
			if !yield(k) {
				return
			}
		}
	})
	if len(keys) == 0 {
		return nil
	}
	return g.rows[src][keys[g.rnd.IntN(len(keys))]]
}

func r32bCopy(r r32bRow) r32bRow {
	n := r32bRow{}
	for k, v := range r {
		n[k] = v
	}
	return n
}

func (g *r32bGen) step() {
	r := g.rnd
	// A delete re-created as it was (or with a change).
	if r.IntN(25) == 0 {
		srcs := slices.Sorted(func(yield func(string) bool) {
			for k, v := range g.dead {
				if len(v) > 0 && !yield(k) {
					return
				}
			}
		})
		if len(srcs) > 0 {
			src := r32bPick(r, srcs...)
			row := r32bCopy(r32bPick(r, g.dead[src]...))
			g.emit(src, row, false)
			return
		}
	}
	if r.IntN(400) == 0 {
		g.truncate(r32bPick(r, "lines", "products", "customers", "shops", "vendors", "orders"))
		return
	}
	switch x := r.IntN(30); {
	case x < 1: // vendors
		id := int64(1 + r.IntN(4))
		if r.IntN(6) == 0 {
			g.emit("vendors", r32bRow{"id": id}, true)
			return
		}
		g.emit("vendors", r32bRow{"id": id, "name": g.nilOr(r32bPick(r, r32bNames...), 15), "country": g.nilOr(r32bPick(r, "fr", "de", ""), 20)}, false)
	case x < 3: // shops
		code := r32bPick(r, r32bShops...)
		if r.IntN(6) == 0 {
			g.emit("shops", r32bRow{"code": code}, true)
			return
		}
		g.emit("shops", r32bRow{"code": code, "name": g.nilOr(r32bPick(r, r32bNames...), 15), "region": g.nilOr(r32bPick(r, "n", "s"), 20)}, false)
	case x < 5: // customers
		id := int64(1 + r.IntN(5))
		if r.IntN(6) == 0 {
			g.emit("customers", r32bRow{"id": id}, true)
			return
		}
		g.emit("customers", r32bRow{"id": id, "name": g.nilOr(r32bPick(r, r32bNames...), 15), "tier": g.nilOr(r32bPick(r, "gold", ""), 20)}, false)
	case x < 9: // products
		if p := g.pickLive("products"); p != nil && r.IntN(3) == 0 {
			n := r32bCopy(p)
			n["vendor_id"] = g.nilOr(int64(1+r.IntN(4)), 15) // a moved foreign key
			g.emit("products", n, false)
			return
		}
		row := r32bRow{"shop": r32bPick(r, r32bShops...), "sku": r32bPick(r, r32bSkus...)}
		if r.IntN(7) == 0 {
			g.emit("products", row, true)
			return
		}
		row["name"] = g.nilOr(r32bPick(r, r32bNames...), 10)
		row["vendor_id"] = g.nilOr(int64(1+r.IntN(4)), 15)
		row["weight"] = g.nilOr(r32bPick(r, r32bWeights...), 20)
		g.emit("products", row, false)
	case x < 13: // orders
		if o := g.pickLive("orders"); o != nil && r.IntN(4) == 0 {
			switch r.IntN(3) {
			case 0: // a primary key update: the old key deleted, a new one created
				g.emit("orders", o, true)
				n := r32bCopy(o)
				if r.IntN(2) == 0 {
					n["shop"] = r32bPick(r, r32bShops...)
				} else {
					n["order_no"] = r32bPick(r, r32bOrderNo...)
				}
				g.emit("orders", n, false)
			case 1:
				n := r32bCopy(o)
				n["customer_id"] = g.nilOr(int64(1+r.IntN(5)), 20)
				g.emit("orders", n, false)
			default:
				n := r32bCopy(o)
				n["status"] = g.nilOr(r32bPick(r, r32bStatus...), 15)
				g.emit("orders", n, false)
			}
			return
		}
		row := r32bRow{"shop": r32bPick(r, r32bShops...), "order_no": r32bPick(r, r32bOrderNo...)}
		if r.IntN(7) == 0 {
			g.emit("orders", row, true)
			return
		}
		row["status"] = g.nilOr(r32bPick(r, r32bStatus...), 10)
		row["customer_id"] = g.nilOr(int64(1+r.IntN(5)), 15)
		g.emit("orders", row, false)
	default: // lines
		id := int64(1 + r.IntN(r32bLineIDs))
		if old := g.rows["lines"][strconv.FormatInt(id, 10)]; old != nil && r.IntN(3) == 0 {
			n := r32bCopy(old)
			switch r.IntN(5) {
			case 0:
				n["shop"] = g.nilOr(r32bBiased(r, r32bShops), 15)
			case 1:
				n["order_no"] = g.nilOr(r32bBiased(r, r32bOrderNo), 15)
			case 2:
				n["sku"] = g.nilOr(r32bPick(r, r32bSkus...), 15)
			case 3:
				n["price"] = g.nilOr(r32bPick(r, r32bPrices...), 15)
			default:
				n["qty"] = g.nilOr(int64(r.IntN(5)-1), 10)
			}
			g.emit("lines", n, false)
			return
		}
		if r.IntN(7) == 0 {
			g.emit("lines", r32bRow{"id": id}, true)
			return
		}
		g.emit("lines", r32bRow{"id": id, "shop": g.nilOr(r32bBiased(r, r32bShops), 8), "order_no": g.nilOr(r32bBiased(r, r32bOrderNo), 8),
			"sku": g.nilOr(r32bPick(r, r32bSkus...), 8), "qty": g.nilOr(int64(r.IntN(5)-1), 10), "price": g.nilOr(r32bPick(r, r32bPrices...), 15),
			"pos": g.nilOr(r32bPick(r, int64(0), 1, 2, 10, 9), 25)}, false)
	}
}

// deliveries shuffles the records across keys (each key's in order, a
// truncate a key of its own) and replays some earlier ones.
func (g *r32bGen) deliveries() []r32bRec {
	r := g.rnd
	queues := map[string][]r32bRec{}
	var keys []string
	for _, x := range g.recs {
		if _, ok := queues[x.qkey]; !ok {
			keys = append(keys, x.qkey)
		}
		queues[x.qkey] = append(queues[x.qkey], x)
	}
	var out []r32bRec
	for len(keys) > 0 {
		i := r.IntN(len(keys))
		if r.IntN(3) != 0 {
			i = r.IntN(min(len(keys), 4))
		}
		k := keys[i]
		out = append(out, queues[k][0])
		if len(out) > 1 && r.IntN(10) == 0 {
			out = append(out, out[r.IntN(len(out)-1)]) // a replay
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

// r32bState is what the delivered records leave: per key the row of its
// newest record, unless a truncate newer than it was delivered.
type r32bState struct {
	rows map[string]map[string]struct {
		seq int
		row r32bRow
	}
	trunc map[string]int
}

func newR32bState() *r32bState {
	return &r32bState{rows: map[string]map[string]struct {
		seq int
		row r32bRow
	}{}, trunc: map[string]int{}}
}

func (s *r32bState) apply(x r32bRec) {
	if x.isTrunc {
		s.trunc[x.src] = max(s.trunc[x.src], x.seq+1) // rows older than it go
		return
	}
	m := s.rows[x.src]
	if m == nil {
		m = map[string]struct {
			seq int
			row r32bRow
		}{}
		s.rows[x.src] = m
	}
	if old, ok := m[x.rowKey]; !ok || old.seq <= x.seq {
		m[x.rowKey] = struct {
			seq int
			row r32bRow
		}{x.seq, x.row}
	}
}

func (s *r32bState) live() map[string]map[string]r32bRow {
	out := map[string]map[string]r32bRow{}
	for src, m := range s.rows {
		out[src] = map[string]r32bRow{}
		for k, a := range m {
			if a.row != nil && a.seq >= s.trunc[src] {
				out[src][k] = a.row
			}
		}
	}
	return out
}

// ---- the oracle ----
