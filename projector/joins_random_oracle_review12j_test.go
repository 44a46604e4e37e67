package projector_test

// The oracle of TestR12jRandomJoinsAgainstOracle: a plain join over the
// final source rows, and the comparison of the views with it.

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

func r12jNum(v any) (decimal.Decimal, bool) {
	switch x := v.(type) {
	case int64:
		return decimal.NewFromInt(x), true
	case string:
		d, err := decimal.NewFromString(x)
		return d, err == nil
	}
	return decimal.Decimal{}, false
}

// r12jCmp compares two values of one column ascending, nulls last.
func r12jCmp(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	if x, ok := r12jNum(a); ok {
		if _, isStr := a.(string); !isStr {
			y, _ := r12jNum(b)
			return x.Cmp(y)
		}
	}
	if as, ok := a.(string); ok {
		if _, err := decimal.NewFromString(as); err == nil && strings.Contains(as, ".") {
			x, _ := r12jNum(a)
			y, _ := r12jNum(b)
			return x.Cmp(y)
		}
		return strings.Compare(as, b.(string))
	}
	panic(fmt.Sprintf("cmp %T", a))
}

// r12jOrder sorts rows by keys (column, desc), nulls last ascending and
// first descending, ties in the text order of the state key.
func r12jOrder(rows []r12jRow, keyCol string, by ...string) {
	sort.SliceStable(rows, func(i, j int) bool {
		for _, o := range by {
			desc := strings.HasPrefix(o, "-")
			c := r12jCmp(rows[i][strings.TrimPrefix(o, "-")], rows[j][strings.TrimPrefix(o, "-")])
			if desc {
				c = -c
			}
			if c != 0 {
				return c < 0
			}
		}
		return fmt.Sprint(rows[i][keyCol]) < fmt.Sprint(rows[j][keyCol])
	})
}

func r12jWhere(rows map[string]r12jRow, pred func(r12jRow) bool) []r12jRow {
	var out []r12jRow
	for _, r := range rows {
		if pred(r) {
			out = append(out, r)
		}
	}
	return out
}

func r12jOne(rows map[string]r12jRow, pred func(r12jRow) bool) r12jRow {
	m := r12jWhere(rows, pred)
	if len(m) > 1 {
		panic("several rows for a one-to-one join")
	}
	if len(m) == 0 {
		return nil
	}
	return m[0]
}

func r12jEq(a, b any) bool { return a != nil && b != nil && fmt.Sprint(a) == fmt.Sprint(b) }

func r12jOracle(rows map[string]map[string]r12jRow) map[string]any {
	out := map[string]any{}
	vendorObj := func(p r12jRow) any {
		v := r12jOne(rows["vendors"], func(v r12jRow) bool {
			return r12jEq(v["_id"], p["vendor_id"]) && v["tier"] != nil && v["tier"] != "banned"
		})
		if v == nil {
			return nil
		}
		return map[string]any{"name": v["name"], "tier": v["tier"]}
	}
	for _, o := range rows["orders"] {
		if o["status"] == nil || o["status"] == "void" {
			continue
		}
		its := r12jWhere(rows["items"], func(i r12jRow) bool {
			q, _ := i["qty"].(int64)
			return r12jEq(i["order_id"], o["id"]) && i["qty"] != nil && q > 0
		})
		r12jOrder(its, "id", "-rank", "sku")
		items := []any{}
		var n, sum int64
		var maxRank any
		for _, i := range its {
			var level any
			if s := r12jOne(rows["stock"], func(s r12jRow) bool { return r12jEq(s["wh"], i["wh"]) && r12jEq(s["sku"], i["sku"]) }); s != nil {
				level = s["level"]
			}
			var product any
			if p := r12jOne(rows["products"], func(p r12jRow) bool { return r12jEq(p["id"], i["product_id"]) }); p != nil {
				product = map[string]any{"name": p["name"], "price": p["price"], "vendor": vendorObj(p)}
			}
			items = append(items, map[string]any{"id": i["id"], "qty": i["qty"], "rank": i["rank"], "sku": i["sku"], "level": level, "product": product})
			n++
			sum += i["qty"].(int64)
			if i["rank"] != nil && (maxRank == nil || i["rank"].(int64) > maxRank.(int64)) {
				maxRank = i["rank"]
			}
		}
		var total any
		if n > 0 {
			total = sum
		}
		out["order_view/"+fmt.Sprint(o["id"])] = map[string]any{"id": o["id"], "status": o["status"], "items": items,
			"item_count": n, "total_qty": total, "max_rank": maxRank}
	}
	for _, p := range rows["products"] {
		var vendor any
		if v := r12jOne(rows["vendors"], func(v r12jRow) bool { return r12jEq(v["_id"], p["vendor_id"]) }); v != nil {
			vendor = v["name"]
		}
		its := r12jWhere(rows["items"], func(i r12jRow) bool { return r12jEq(i["product_id"], p["id"]) })
		r12jOrder(its, "id", "qty", "-order_id")
		sold := []any{}
		for _, i := range its {
			var status any
			if o := r12jOne(rows["orders"], func(o r12jRow) bool {
				return r12jEq(o["id"], i["order_id"]) && o["status"] != nil && o["status"] != "void"
			}); o != nil {
				status = o["status"]
			}
			sold = append(sold, map[string]any{"id": i["id"], "qty": i["qty"], "order_id": i["order_id"], "order": status})
		}
		out["product_view/"+fmt.Sprint(p["id"])] = map[string]any{"id": p["id"], "name": p["name"], "vendor": vendor,
			"sold": sold, "n_sold": len(sold)}
	}
	for _, v := range rows["vendors"] {
		if v["tier"] == nil || v["tier"] == "banned" {
			continue
		}
		ps := r12jWhere(rows["products"], func(p r12jRow) bool { return r12jEq(p["vendor_id"], v["_id"]) })
		r12jOrder(ps, "id", "-price")
		prods := []any{}
		var minPrice any
		for _, p := range ps {
			its := r12jWhere(rows["items"], func(i r12jRow) bool { return r12jEq(i["product_id"], p["id"]) })
			r12jOrder(its, "id", "-id")
			items := []any{}
			for _, i := range its {
				items = append(items, map[string]any{"id": i["id"], "order_id": i["order_id"]})
			}
			prods = append(prods, map[string]any{"id": p["id"], "price": p["price"], "items": items})
			if p["price"] != nil && (minPrice == nil || r12jCmp(p["price"], minPrice) < 0) {
				minPrice = p["price"]
			}
		}
		ns := r12jWhere(rows["notes"], func(n r12jRow) bool { return r12jEq(n["vendor_id"], v["_id"]) && n["score"] != nil })
		r12jOrder(ns, "_id", "-score")
		notes := []any{}
		var top any
		for _, n := range ns {
			notes = append(notes, map[string]any{"id": n["_id"], "body": n["body"], "score": n["score"]})
			if top == nil || n["score"].(int64) > top.(int64) {
				top = n["score"]
			}
		}
		out["vendor_view/"+v["_id"].(string)] = map[string]any{"id": v["_id"], "name": v["name"], "products": prods,
			"n_products": len(prods), "min_price": minPrice, "notes": notes, "top_score": top}
	}
	return out
}

// r12jCanon renders a value as JSON with every number, and every numeric
// text, as its decimal value without trailing zeros.
func r12jCanon(t *testing.T, v any) string {
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
				y[k] = walk(e)
			}
		case []any:
			for i, e := range y {
				y[i] = walk(e)
			}
		case json.Number:
			dd, _ := decimal.NewFromString(y.String())
			return "#" + dd.String()
		case string:
			if dd, err := decimal.NewFromString(y); err == nil && strings.Contains(y, ".") {
				return "#" + dd.String()
			}
		}
		return v
	}
	out, _ := json.Marshal(walk(x))
	return string(out)
}

func r12jCompare(t *testing.T, name string, s *viewSink, want map[string]any) int {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	bad := 0
	for k, w := range want {
		d, ok := s.docs[k]
		if !ok || d.Deleted {
			bad++
			t.Errorf("%s: %s missing, want %s", name, k, r12jCanon(t, w))
			continue
		}
		if g, e := r12jCanon(t, d.Fields), r12jCanon(t, w); g != e {
			bad++
			t.Errorf("%s: %s:\n got  %s\n want %s", name, k, g, e)
		}
	}
	for k, d := range s.docs {
		if _, ok := want[k]; !ok && !d.Deleted {
			bad++
			t.Errorf("%s: %s = %s, want no document", name, k, r12jCanon(t, d.Fields))
		}
	}
	return bad
}

// TestR12jRandomJoinsAgainstOracle runs seeded random workloads through an
// engine on the PostgreSQL state and one on the memory state.
