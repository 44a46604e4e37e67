package projector_test

// The oracle of TestReview32bCombinedFeaturesConverge: plain joins over
// the final source rows, and the documents each store holds.

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"
	"github.com/shopspring/decimal"

	"github.com/projectorhq/projector/projector"
)

func r32bDec(v any) decimal.Decimal {
	switch x := v.(type) {
	case int64:
		return decimal.NewFromInt(x)
	case string:
		return decimal.RequireFromString(x)
	}
	panic(fmt.Sprintf("r32bDec %T", v))
}

func r32bEq(a, b any) bool { return a != nil && b != nil && a == b }

// r32bCmpNullable orders two values of one column (numbers by value),
// nulls last ascending.
func r32bCmpNullable(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	return r32bDec(a).Cmp(r32bDec(b))
}

func r32bAgg(fn string, vals []any) any {
	var nn []any
	for _, v := range vals {
		if v != nil {
			nn = append(nn, v)
		}
	}
	if fn == "count" {
		return int64(len(nn))
	}
	if len(nn) == 0 {
		return nil
	}
	switch fn {
	case "sum":
		s := decimal.Zero
		for _, v := range nn {
			s = s.Add(r32bDec(v))
		}
		if _, ok := nn[0].(int64); ok {
			return s.IntPart()
		}
		return s.String()
	case "avg":
		s := decimal.Zero
		scale := int32(0)
		for _, v := range nn {
			d := r32bDec(v)
			s = s.Add(d)
			if _, isInt := v.(int64); !isInt {
				scale = max(scale, 4) // numeric(12,4)
			}
		}
		return r32bPGDiv(s, int64(len(nn)), scale).String()
	case "min", "max":
		best := nn[0]
		for _, v := range nn[1:] {
			c := r32bDec(v).Cmp(r32bDec(best))
			if (fn == "min" && c < 0) || (fn == "max" && c > 0) {
				best = v
			}
		}
		return best
	}
	panic(fn)
}

// r32bBase10000 is the weight and first digit of x in PostgreSQL's numeric
// representation (base 10,000 digits), 0 and 0 for zero.
func r32bBase10000(x decimal.Decimal) (int, int64) {
	if x.IsZero() {
		return 0, 0
	}
	a := x.Abs()
	coef := a.Coefficient().String()
	e := len(coef) - 1 + int(a.Exponent()) // decimal exponent of the leading digit
	w := e / 4
	if e < 0 && e%4 != 0 {
		w--
	}
	return w, a.Shift(int32(-4 * w)).Truncate(0).IntPart()
}

// r32bPGDiv is PostgreSQL's numeric division sum / n (select_div_scale, then
// rounding half away from zero).
func r32bPGDiv(sum decimal.Decimal, n int64, dscale int32) decimal.Decimal {
	w1, f1 := r32bBase10000(sum)
	w2, f2 := r32bBase10000(decimal.NewFromInt(n))
	q := w1 - w2
	if f1 <= f2 {
		q--
	}
	rscale := int32(16 - q*4)
	rscale = max(rscale, dscale, 0)
	rscale = min(rscale, 1000)
	return sum.DivRound(decimal.NewFromInt(n), rscale)
}

func r32bCol(rows []r32bRow, c string) []any {
	out := make([]any, len(rows))
	for i, r := range rows {
		out[i] = r[c]
	}
	return out
}

func r32bFind(rows map[string]r32bRow, pred func(r32bRow) bool) []r32bRow {
	var out []r32bRow
	for _, r := range rows {
		if pred(r) {
			out = append(out, r)
		}
	}
	return out
}

func r32bOne(rows map[string]r32bRow, pred func(r32bRow) bool) r32bRow {
	m := r32bFind(rows, pred)
	if len(m) > 1 {
		panic("several rows for a one-to-one join")
	}
	if len(m) == 0 {
		return nil
	}
	return m[0]
}

// r32bDocKey names a document by its id fields' values.
func r32bDocKey(view string, fields map[string]any) string {
	var parts []string
	for _, c := range r32bIDCols[view] {
		v := fields[c]
		switch x := v.(type) {
		case float64:
			parts = append(parts, strconv.FormatFloat(x, 'f', -1, 64))
		case json.Number:
			parts = append(parts, x.String())
		default:
			parts = append(parts, fmt.Sprint(x))
		}
	}
	b, _ := json.Marshal(parts)
	return view + "/" + string(b)
}

func r32bPositive(l r32bRow) bool { q, ok := l["qty"].(int64); return ok && q > 0 }

func r32bOracle(rows map[string]map[string]r32bRow) map[string]map[string]any {
	out := map[string]map[string]any{}
	add := func(view string, doc map[string]any) { out[r32bDocKey(view, doc)] = doc }
	linesOf := func(o r32bRow) []r32bRow {
		return r32bFind(rows["lines"], func(l r32bRow) bool {
			return r32bEq(l["shop"], o["shop"]) && r32bEq(l["order_no"], o["order_no"])
		})
	}
	sortLines := func(ls []r32bRow, by ...string) {
		sort.SliceStable(ls, func(i, j int) bool {
			for _, o := range by {
				desc := strings.HasPrefix(o, "-")
				c := strings.TrimPrefix(o, "-")
				k := r32bCmpNullable(ls[i][c], ls[j][c])
				if desc {
					k = -k
				}
				if k != 0 {
					return k < 0
				}
			}
			return fmt.Sprint(ls[i]["id"]) < fmt.Sprint(ls[j]["id"]) // ties: the key's text
		})
	}
	for _, o := range rows["orders"] {
		// top_line: every order.
		ls := linesOf(o)
		sortLines(ls, "qty")
		best := []any{}
		for _, l := range ls[:min(1, len(ls))] {
			var sn any
			if s := r32bOne(rows["shops"], func(s r32bRow) bool { return r32bEq(s["code"], l["shop"]) }); s != nil {
				sn = s["name"]
			}
			best = append(best, map[string]any{"id": l["id"], "qty": l["qty"], "shop_name": sn})
		}
		add("top_line", map[string]any{"shop": o["shop"], "order_no": o["order_no"], "best": best,
			"n": int64(len(ls)), "low": r32bAgg("min", r32bCol(ls, "qty"))})

		// order_doc: where status != "void" (null: out).
		if o["status"] == nil || o["status"] == "void" || o["order_no"] == int64(10) {
			continue
		}
		var customer any
		who := "nobody"
		if c := r32bOne(rows["customers"], func(c r32bRow) bool { return r32bEq(c["id"], o["customer_id"]) }); c != nil {
			customer = map[string]any{"name": c["name"], "tier": c["tier"]}
			who = "anon"
			if c["name"] != nil {
				who = c["name"].(string)
			}
		}
		ls = slices.DeleteFunc(linesOf(o), func(l r32bRow) bool { return !r32bPositive(l) })
		sortLines(ls, "-price", "pos")
		all := []any{} // every row's item: aggregates see them all
		for _, l := range ls {
			var product any
			vname := "-"
			if p := r32bOne(rows["products"], func(p r32bRow) bool { return r32bEq(p["shop"], l["shop"]) && r32bEq(p["sku"], l["sku"]) }); p != nil {
				var vendor any
				if v := r32bOne(rows["vendors"], func(v r32bRow) bool {
					return r32bEq(v["id"], p["vendor_id"]) && v["country"] != nil && v["country"] != "de"
				}); v != nil {
					vendor = map[string]any{"name": v["name"], "country": v["country"]}
					vname = "?"
					if v["name"] != nil {
						vname = v["name"].(string)
					}
				}
				product = map[string]any{"name": p["name"], "vendor": vendor}
			}
			all = append(all, map[string]any{"id": l["id"], "sku": l["sku"], "qty": l["qty"], "price": l["price"], "pos": l["pos"],
				"product": product, "vname": vname})
		}
		items := all[:min(3, len(all))]
		var topV any
		nProducts := int64(0)
		for _, it := range all {
			m := it.(map[string]any)
			if v := m["vname"].(string); topV == nil || v > topV.(string) {
				topV = v
			}
			if m["product"] != nil {
				nProducts++
			}
		}
		first := ""
		if len(items) > 0 {
			first = items[0].(map[string]any)["vname"].(string)
		}
		add("order_doc", map[string]any{"shop": o["shop"], "order_no": o["order_no"], "status": o["status"], "customer": customer, "who": who,
			"lines": items, "n_lines": int64(len(ls)), "qty_sum": r32bAgg("sum", r32bCol(ls, "qty")),
			"max_price": r32bAgg("max", r32bCol(ls, "price")), "avg_price": r32bAgg("avg", r32bCol(ls, "price")),
			"shown": int64(len(items)), "first_vendor": first, "top_vname": topV, "n_products": nProducts})
	}

	// line_stats: group_by [sku, shop] where qty >= 0.
	groups := map[string][]r32bRow{}
	for _, l := range rows["lines"] {
		if l["sku"] == nil || l["shop"] == nil || l["qty"] == nil || l["qty"].(int64) < 0 {
			continue
		}
		k := string(must(json.Marshal([]any{l["sku"], l["shop"]})))
		groups[k] = append(groups[k], l)
	}
	for _, ls := range groups {
		sku, shop := ls[0]["sku"], ls[0]["shop"]
		var product, shopInfo any
		if p := r32bOne(rows["products"], func(p r32bRow) bool { return r32bEq(p["shop"], shop) && r32bEq(p["sku"], sku) }); p != nil {
			product = map[string]any{"name": p["name"], "weight": p["weight"]}
		}
		label := sku.(string)
		if s := r32bOne(rows["shops"], func(s r32bRow) bool { return r32bEq(s["code"], shop) && s["region"] != nil && s["region"] != "s" }); s != nil {
			shopInfo = map[string]any{"name": s["name"], "region": s["region"]}
			name := "?"
			if s["name"] != nil {
				name = s["name"].(string)
			}
			label = name + "/" + sku.(string)
		}
		add("line_stats", map[string]any{"sku": sku, "shop": shop, "n": int64(len(ls)), "qty": r32bAgg("sum", r32bCol(ls, "qty")),
			"hi": r32bAgg("max", r32bCol(ls, "price")), "mean": r32bAgg("avg", r32bCol(ls, "price")),
			"product": product, "shop_info": shopInfo, "label": label, "twice": int64(2 * len(ls))})
	}

	// shop_sku: group_by [shop, sku], no where.
	ss := map[string][]r32bRow{}
	for _, l := range rows["lines"] {
		if l["sku"] == nil || l["shop"] == nil {
			continue
		}
		k := string(must(json.Marshal([]any{l["shop"], l["sku"]})))
		ss[k] = append(ss[k], l)
	}
	for _, ls := range ss {
		sku, shop := ls[0]["sku"], ls[0]["shop"]
		var info, both any
		if p := r32bOne(rows["products"], func(p r32bRow) bool { return r32bEq(p["shop"], shop) && r32bEq(p["sku"], sku) }); p != nil {
			both = p["name"]
		}
		tag := "none"
		if s := r32bOne(rows["shops"], func(s r32bRow) bool { return r32bEq(s["code"], shop) }); s != nil {
			info = s["region"]
			if info != nil {
				tag = info.(string)
			}
		}
		add("shop_sku", map[string]any{"shop": shop, "sku": sku, "n": int64(len(ls)), "lo": r32bAgg("min", r32bCol(ls, "price")),
			"info": info, "both": both, "tag": tag + "|" + strconv.Itoa(len(ls))})
	}

	// cust_status: group_by [status, customer_id].
	cs := map[string][]r32bRow{}
	for _, o := range rows["orders"] {
		if o["status"] == nil || o["customer_id"] == nil {
			continue
		}
		k := string(must(json.Marshal([]any{o["status"], o["customer_id"]})))
		cs[k] = append(cs[k], o)
	}
	for _, os := range cs {
		st, cid := os[0]["status"], os[0]["customer_id"]
		var cust any
		if c := r32bOne(rows["customers"], func(c r32bRow) bool { return r32bEq(c["id"], cid) }); c != nil {
			cust = c["name"]
		}
		tag := "none"
		if cust != nil {
			tag = cust.(string)
		}
		add("cust_status", map[string]any{"status": st, "customer_id": cid, "n": int64(len(os)), "cust": cust, "tag": tag + ":" + st.(string)})
	}
	return out
}

// r32bCanon renders a value as JSON with every number, and every numeric
// text, as its exact decimal value (trailing zeros dropped).
func r32bCanon(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	var x any
	if err := d.Decode(&x); err != nil {
		t.Fatal(err)
	}
	var walk func(any) any
	walk = func(v any) any {
		switch y := v.(type) {
		case map[string]any:
			for k, e := range y {
				if strings.HasPrefix(k, "_") { // a sink's own columns
					delete(y, k)
					continue
				}
				y[k] = walk(e)
			}
		case []any:
			for i, e := range y {
				y[i] = walk(e)
			}
		case json.Number:
			return "#" + decimal.RequireFromString(y.String()).String()
		case string:
			if dd, err := decimal.NewFromString(y); err == nil {
				return "#" + dd.String()
			}
		}
		return v
	}
	out, _ := json.Marshal(walk(x))
	return string(out)
}

func r32bDiff(t *testing.T, where string, got map[string]any, want map[string]map[string]any) int {
	t.Helper()
	bad := 0
	report := func(format string, args ...any) {
		bad++
		if bad <= 6 {
			t.Errorf(where+": "+format, args...)
		}
	}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range want {
			if !yield(k) {
				return
			}
		}
	}) {
		g, ok := got[k]
		if !ok {
			report("%s missing, want %s", k, r32bCanon(t, want[k]))
			continue
		}
		if gs, ws := r32bCanon(t, g), r32bCanon(t, want[k]); gs != ws {
			report("%s:\n got  %s\n want %s", k, gs, ws)
		}
	}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range got {
			if !yield(k) {
				return
			}
		}
	}) {
		if _, ok := want[k]; !ok {
			report("%s = %s, want no document", k, r32bCanon(t, got[k]))
		}
	}
	return bad
}

func r32bSinkDocs(s *viewSink) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]any{}
	for _, d := range s.docs {
		if !d.Deleted {
			out[r32bDocKey(d.View, d.Fields)] = d.Fields
		}
	}
	return out
}

func r32bTableDocs(t *testing.T, pool *pgxpool.Pool) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, view := range r32bViews {
		rows, err := pool.Query(context.Background(), `SELECT to_jsonb(v)::text FROM `+view+` v`)
		if err != nil {
			t.Fatal(err)
		}
		texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range texts {
			d := json.NewDecoder(strings.NewReader(s))
			d.UseNumber()
			var m map[string]any
			if err := d.Decode(&m); err != nil {
				t.Fatal(err)
			}
			out[r32bDocKey(view, m)] = m
		}
	}
	return out
}

func r32bRedisDocs(t *testing.T, rdb *goredis.Client, prefix string) map[string]any {
	t.Helper()
	out := map[string]any{}
	for view, lit := range map[string]string{"order_doc": "o:", "line_stats": "s:"} {
		keys, err := rdb.Keys(context.Background(), prefix+lit+"*").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			d := json.NewDecoder(strings.NewReader(rdb.Get(context.Background(), k).Val()))
			d.UseNumber()
			var m map[string]any
			if err := d.Decode(&m); err != nil {
				t.Fatalf("redis %s: %v", k, err)
			}
			key := r32bDocKey(view, m)
			out[key] = m
			var ids []string
			json.Unmarshal([]byte(strings.TrimPrefix(key, view+"/")), &ids)
			if want := prefix + lit + strings.Join(ids, ":"); want != k {
				t.Errorf("redis key %q holds the document of %q", k, want)
			}
		}
	}
	return out
}

func r32bRebuild(t *testing.T, eng *projector.Engine, limit int) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, view := range r32bViews {
		for _, d := range compRebuildDocs(t, eng, view, limit) {
			if !d.Deleted {
				out[r32bDocKey(view, d.Fields)] = d.Fields
			}
		}
	}
	return out
}
