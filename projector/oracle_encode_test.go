package projector_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/projectorhq/projector/internal/shop"
)

// The oracle test's Debezium encoding of its tables, and its workload.

// ---- Debezium encoding of arbitrary PostgreSQL tables ----

type rvKind int

const (
	rvI64 rvKind = iota
	rvI32
	rvText
	rvDec // numeric(10,2), precise
	rvTS  // timestamptz, io.debezium.time.ZonedTimestamp
)

type rvCol struct {
	name string
	kind rvKind
}

type rvTable struct {
	name   string
	cols   []rvCol
	key    []string
	schema []byte
	keySch []byte
}

func rvColSchema(c rvCol, optional bool) map[string]any {
	switch c.kind {
	case rvI64:
		return map[string]any{"type": "int64", "optional": optional, "field": c.name}
	case rvI32:
		return map[string]any{"type": "int32", "optional": optional, "field": c.name}
	case rvText:
		return map[string]any{"type": "string", "optional": optional, "field": c.name}
	case rvDec:
		return map[string]any{"type": "bytes", "optional": optional, "name": "org.apache.kafka.connect.data.Decimal", "version": 1,
			"parameters": map[string]any{"scale": "2", "connect.decimal.precision": "10"}, "field": c.name}
	case rvTS:
		return map[string]any{"type": "string", "optional": optional, "name": "io.debezium.time.ZonedTimestamp", "version": 1, "field": c.name}
	}
	panic("kind")
}

func newRvTable(name string, key []string, cols ...rvCol) *rvTable {
	t := &rvTable{name: name, cols: cols, key: key}
	var fields, kfields []any
	for _, c := range cols {
		isKey := false
		for _, k := range key {
			isKey = isKey || k == c.name
		}
		fields = append(fields, rvColSchema(c, !isKey))
		if isKey {
			kfields = append(kfields, rvColSchema(c, false))
		}
	}
	row := func(field string) map[string]any {
		return map[string]any{"type": "struct", "fields": fields, "optional": true, "name": "rv.public." + name + ".Value", "field": field}
	}
	source := shop.PostgresSourceSchema()
	env := map[string]any{"type": "struct", "optional": false, "name": "rv.public." + name + ".Envelope", "version": 2,
		"fields": []any{row("before"), row("after"), source,
			map[string]any{"type": "string", "optional": false, "field": "op"},
			map[string]any{"type": "int64", "optional": true, "field": "ts_ms"},
		}}
	t.schema, _ = json.Marshal(env)
	t.keySch, _ = json.Marshal(map[string]any{"type": "struct", "optional": false, "name": "rv.public." + name + ".Key", "fields": kfields})
	return t
}

func (t *rvTable) topic() string { return "rv.public." + t.name }

func rvEncode(k rvKind, v any) any {
	if v == nil {
		return nil
	}
	switch k {
	case rvDec:
		d := decimal.RequireFromString(v.(string))
		return base64.StdEncoding.EncodeToString(shop.TwosComplement(d.Shift(2).BigInt()))
	case rvTS:
		// As Debezium's ZonedTimestamp: ISO-8601, fraction without trailing zeros.
		return v.(time.Time).UTC().Format("2006-01-02T15:04:05.999999Z07:00")
	}
	return v
}

func (t *rvTable) rowJSON(row map[string]any) map[string]any {
	if row == nil {
		return nil
	}
	out := map[string]any{}
	for _, c := range t.cols {
		out[c.name] = rvEncode(c.kind, row[c.name])
	}
	return out
}

func (t *rvTable) message(op string, before, after map[string]any, lsn int64) shop.Message {
	payload := map[string]any{
		"before": t.rowJSON(before), "after": t.rowJSON(after),
		"source": map[string]any{"version": "2.7.3.Final", "connector": "postgresql", "name": "rv", "ts_ms": 1700000000000 + lsn,
			"snapshot": "false", "db": "rv", "sequence": fmt.Sprintf(`["%d","%d"]`, lsn-8, lsn), "schema": "public", "table": t.name,
			"txId": lsn / 16, "lsn": lsn, "xmin": nil},
		"op": op, "ts_ms": 1700000000003 + lsn,
	}
	p, _ := json.Marshal(payload)
	v := []byte(`{"schema":` + string(t.schema) + `,"payload":` + string(p) + `}`)
	src := after
	if src == nil {
		src = before
	}
	if src == nil {
		return shop.Message{Topic: t.topic(), Value: v}
	}
	return shop.Message{Topic: t.topic(), Key: t.keyJSON(src), Value: v}
}

func (t *rvTable) keyJSON(row map[string]any) []byte {
	kp := map[string]any{}
	for _, c := range t.cols {
		for _, k := range t.key {
			if k == c.name {
				kp[k] = rvEncode(c.kind, row[k])
			}
		}
	}
	p, _ := json.Marshal(kp)
	return []byte(`{"schema":` + string(t.keySch) + `,"payload":` + string(p) + `}`)
}

func (t *rvTable) keyText(row map[string]any) string {
	var parts []string
	for _, k := range t.key {
		parts = append(parts, fmt.Sprint(row[k]))
	}
	return strings.Join(parts, "|")
}

// ---- the workload ----

// rvGen makes random changes, keeping the final rows (the model).
type rvGen struct {
	rnd  *rand.Rand
	lsn  int64
	rows map[*rvTable]map[string]map[string]any
	msgs []shop.Message
	// knobs
	sizes     map[*rvTable]int
	truncates bool
}

func pickOne[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

func (g *rvGen) maybe(p int, v any) any {
	if g.rnd.IntN(100) < p {
		return nil
	}
	return v
}

var rvBaseTime = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

func (g *rvGen) ts() time.Time {
	// Few distinct instants (ties), fractions of varying length (their RFC
	// 3339 text does not sort as the instants do).
	sec := g.rnd.IntN(6)
	frac := pickOne(g.rnd, 0, 500000, 50000, 123456, 999999)
	return rvBaseTime.Add(time.Duration(sec)*time.Second + time.Duration(frac)*time.Microsecond)
}

func (g *rvGen) dec() string {
	return pickOne(g.rnd, "0.00", "1.50", "9.99", "10.00", "49.99", "50.00", "75.25", "100.00", "100.01", "250.50", "-3.25")
}

func (g *rvGen) id(n int) int64 { return int64(1 + g.rnd.IntN(n)) }

func (g *rvGen) row(t *rvTable, key map[string]any) map[string]any {
	r := map[string]any{}
	for k, v := range key {
		r[k] = v
	}
	switch t {
	case rvCategories:
		r["name"] = g.maybe(10, pickOne(g.rnd, "alpha", "beta", "gamma", "delta"))
		r["parent_id"] = g.maybe(30, g.id(9))
	case rvProducts:
		r["name"] = pickOne(g.rnd, "pa", "pb", "pc", "pd")
		r["category_id"] = g.maybe(15, g.id(9))
		r["price"] = g.maybe(15, g.dec())
		r["updated_at"] = g.maybe(15, g.ts())
	case rvUsers:
		r["name"] = pickOne(g.rnd, "ann", "bob", "cy", "dee", "eve")
		r["country"] = g.maybe(20, pickOne(g.rnd, "fr", "de", "us"))
	case rvOrders:
		r["user_id"] = g.id(12)
		r["seller_id"] = g.maybe(30, g.id(11))
		r["status"] = pickOne(g.rnd, "paid", "paid", "new", "void", "shipped")
		r["region"] = g.maybe(20, pickOne(g.rnd, "eu", "us", "apac"))
		r["total"] = g.maybe(10, g.dec())
		r["created_at"] = g.maybe(10, g.ts())
		r["note"] = g.maybe(30, pickOne(g.rnd, "a", "b", "m", "zz", "B"))
	case rvItems:
		r["order_id"] = g.maybe(10, g.id(27))
		r["product_id"] = g.maybe(10, g.id(16))
		r["qty"] = g.maybe(10, int64(g.rnd.IntN(7)-1))
		r["rank"] = g.maybe(20, int64(g.rnd.IntN(4)))
		r["price"] = g.maybe(15, g.dec())
		r["wh"] = g.maybe(10, pickOne(g.rnd, "a", "b"))
		r["sku"] = pickOne(g.rnd, "s1", "s2", "s3")
	case rvStock:
		r["level"] = g.maybe(15, int64(g.rnd.IntN(10)))
	case rvLines:
		r["note"] = g.maybe(20, pickOne(g.rnd, "x", "y", "z"))
	}
	return r
}

func (g *rvGen) key(t *rvTable) map[string]any {
	switch t {
	case rvStock:
		return map[string]any{"wh": pickOne(g.rnd, "a", "b"), "sku": pickOne(g.rnd, "s1", "s2", "s3")}
	case rvLines:
		return map[string]any{"order_id": g.id(25), "line_no": int64(1 + g.rnd.IntN(4))}
	}
	return map[string]any{"id": g.id(g.sizes[t])}
}

// change makes one change of t: a create, an update (of some columns) or
// a delete (followed by Debezium's tombstone).
func (g *rvGen) change(t *rvTable) {
	g.lsn += 16
	if g.truncates && (t == rvItems || t == rvLines || t == rvStock) && g.rnd.IntN(200) == 0 {
		// TRUNCATE: every row goes; Debezium sends it without a key.
		g.rows[t] = map[string]map[string]any{}
		m := t.message("t", nil, nil, g.lsn)
		m.Key = nil
		g.msgs = append(g.msgs, m)
		return
	}
	key := g.key(t)
	kt := t.keyText(key)
	old, ok := g.rows[t][kt]
	if !ok {
		r := g.row(t, key)
		g.rows[t][kt] = r
		g.msgs = append(g.msgs, t.message("c", nil, r, g.lsn))
		return
	}
	if g.rnd.IntN(100) < 25 {
		delete(g.rows[t], kt)
		before := map[string]any{}
		for k, v := range key {
			before[k] = v
		}
		g.msgs = append(g.msgs, t.message("d", before, nil, g.lsn))
		g.msgs = append(g.msgs, shop.Message{Topic: t.topic(), Key: t.keyJSON(key)})
		return
	}
	fresh := g.row(t, key)
	r := map[string]any{}
	for k, v := range old {
		r[k] = v
	}
	// Change one or two columns, or the whole row.
	if g.rnd.IntN(3) == 0 {
		r = fresh
	} else {
		for n := 1 + g.rnd.IntN(2); n > 0; n-- {
			c := t.cols[g.rnd.IntN(len(t.cols))].name
			if _, isKey := key[c]; !isKey {
				r[c] = fresh[c]
			}
		}
	}
	g.rows[t][kt] = r
	g.msgs = append(g.msgs, t.message("u", nil, r, g.lsn))
}

func newRvGen(seed uint64) *rvGen {
	g := &rvGen{rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), lsn: 1000,
		rows:  map[*rvTable]map[string]map[string]any{},
		sizes: map[*rvTable]int{rvCategories: 8, rvProducts: 15, rvUsers: 10, rvOrders: 25, rvItems: 60}}
	for _, t := range rvTables {
		g.rows[t] = map[string]map[string]any{}
	}
	return g
}

func (g *rvGen) run(n int) {
	weights := []struct {
		t *rvTable
		w int
	}{{rvCategories, 8}, {rvProducts, 12}, {rvUsers, 10}, {rvOrders, 20}, {rvItems, 30}, {rvStock, 6}, {rvLines, 10}}
	total := 0
	for _, w := range weights {
		total += w.w
	}
	for i := 0; i < n; i++ {
		x := g.rnd.IntN(total)
		for _, w := range weights {
			if x < w.w {
				g.change(w.t)
				break
			}
			x -= w.w
		}
	}
}
