package projector_test

// The oracle of TestCompositeKeysConverge (composite_test.go): a plain
// join and grouping of the final source rows, and the readers of what
// the engine, the PostgreSQL view tables and Redis hold.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"
	"github.com/shopspring/decimal"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

func compDec(v any) decimal.Decimal {
	switch x := v.(type) {
	case int64:
		return decimal.NewFromInt(x)
	case string:
		return decimal.RequireFromString(x)
	}
	panic(fmt.Sprintf("compDec %T", v))
}

// compCmp compares two non-null values of one column: numbers by value,
// text in Go's byte order (as the engine orders).
func compCmp(a, b any) int {
	switch x := a.(type) {
	case string:
		if _, isPrice := b.(string); isPrice && strings.Contains(x, ".") {
			return compDec(a).Cmp(compDec(b))
		}
		return strings.Compare(x, b.(string))
	case int64:
		return compDec(a).Cmp(compDec(b))
	}
	panic(fmt.Sprintf("compCmp %T", a))
}

// compSort orders rows by (column, desc): nulls last ascending, first
// descending; ties in the text order of the state key.
func compSort(rows []compRow, src string, by ...string) {
	sort.SliceStable(rows, func(i, j int) bool {
		for _, o := range by {
			desc := strings.HasPrefix(o, "-")
			c := strings.TrimPrefix(o, "-")
			a, b := rows[i][c], rows[j][c]
			var k int
			switch {
			case a == nil && b == nil:
				k = 0
			case a == nil:
				k = 1
			case b == nil:
				k = -1
			default:
				k = compCmp(a, b)
			}
			if desc {
				k = -k
			}
			if k != 0 {
				return k < 0
			}
		}
		return compStateKey(src, rows[i]) < compStateKey(src, rows[j])
	})
}

func compEq(a, b any) bool { return a != nil && b != nil && a == b }

func compFind(rows map[string]compRow, pred func(compRow) bool) []compRow {
	var out []compRow
	for _, r := range rows {
		if pred(r) {
			out = append(out, r)
		}
	}
	return out
}

func compOne(rows map[string]compRow, pred func(compRow) bool) compRow {
	m := compFind(rows, pred)
	if len(m) > 1 {
		panic("several rows for a one-to-one join")
	}
	if len(m) == 0 {
		return nil
	}
	return m[0]
}

// compAgg is SQL's aggregate over vals (nulls skipped).
func compAgg(fn string, vals []any) any {
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
	case "sum", "avg":
		s := decimal.Zero
		for _, v := range nn {
			s = s.Add(compDec(v))
		}
		if fn == "avg" {
			return "avg:" + s.DivRound(decimal.NewFromInt(int64(len(nn))), 30).String()
		}
		if _, ok := nn[0].(int64); ok {
			return s.IntPart()
		}
		return s.StringFixed(2)
	case "min", "max":
		best := nn[0]
		for _, v := range nn[1:] {
			c := compCmp(v, best)
			if (fn == "min" && c < 0) || (fn == "max" && c > 0) {
				best = v
			}
		}
		return best
	}
	panic(fn)
}

func compCol(rows []compRow, c string) []any {
	out := make([]any, len(rows))
	for i, r := range rows {
		out[i] = r[c]
	}
	return out
}

func compNotVoid(o compRow) bool { return o["status"] != nil && o["status"] != "void" }

func compPositive(l compRow) bool { q, ok := l["qty"].(int64); return ok && q > 0 }

func compCompositeID(vals ...any) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = v.(string)
	}
	b, _ := json.Marshal(parts)
	return string(b)
}

// compOracle is every document of the three views over rows, by
// "view/id".
func compOracle(rows map[string]map[string]compRow) map[string]map[string]any {
	out := map[string]map[string]any{}
	tenantName := func(t any) any {
		if tr := compOne(rows["tenants"], func(x compRow) bool { return compEq(x["tenant"], t) }); tr != nil {
			return tr["name"]
		}
		return nil
	}
	for _, o := range rows["orders"] {
		if !compNotVoid(o) {
			continue
		}
		ls := compFind(rows["lines"], func(l compRow) bool {
			return compEq(l["tenant"], o["tenant"]) && compEq(l["order_id"], o["order_id"]) && compPositive(l)
		})
		compSort(ls, "lines", "pos", "-label")
		items := []any{}
		for _, l := range ls {
			var product any
			if p := compOne(rows["products"], func(p compRow) bool { return compEq(p["tenant"], l["tenant"]) && compEq(p["sku"], l["sku"]) }); p != nil {
				product = map[string]any{"name": p["name"], "cat": p["cat"]}
			}
			items = append(items, map[string]any{"id": l["id"], "sku": l["sku"], "qty": l["qty"], "price": l["price"], "label": l["label"], "product": product})
		}
		out["order_view/"+compCompositeID(o["tenant"], o["order_id"])] = map[string]any{
			"tenant": o["tenant"], "order_id": o["order_id"], "status": o["status"], "tenant_name": tenantName(o["tenant"]),
			"lines": items, "n_lines": int64(len(items)), "qty_sum": compAgg("sum", compCol(ls, "qty")),
			"top_label": compAgg("max", compCol(ls, "label")), "low_price": compAgg("min", compCol(ls, "price")),
			"mean_price": compAgg("avg", compCol(ls, "price")),
		}
	}
	groups := map[string][]compRow{}
	for _, l := range rows["lines"] {
		if l["tenant"] == nil || l["sku"] == nil || !compPositive(l) {
			continue
		}
		id := compCompositeID(l["tenant"], l["sku"])
		groups[id] = append(groups[id], l)
	}
	for id, ls := range groups {
		var big int64
		for _, l := range ls {
			if l["qty"].(int64) > 1 {
				big++
			}
		}
		out["line_stats/"+id] = map[string]any{"tenant": ls[0]["tenant"], "sku": ls[0]["sku"], "n": int64(len(ls)),
			"qty": compAgg("sum", compCol(ls, "qty")), "low": compAgg("min", compCol(ls, "price")), "high": compAgg("max", compCol(ls, "price")),
			"mean": compAgg("avg", compCol(ls, "price")), "first": compAgg("min", compCol(ls, "label")), "last": compAgg("max", compCol(ls, "label")),
			"big": big, "labels": compAgg("count", compCol(ls, "label"))}
	}
	byLabel := map[string][]compRow{}
	byPos := map[string][]compRow{}
	for _, l := range rows["lines"] {
		if l["label"] != nil && compPositive(l) {
			byLabel[l["label"].(string)] = append(byLabel[l["label"].(string)], l)
		}
		if l["pos"] != nil && l["tenant"] != nil {
			id := compCompositeID(l["tenant"], strconv.FormatInt(l["pos"].(int64), 10))
			byPos[id] = append(byPos[id], l)
		}
	}
	for id, ls := range byLabel {
		out["by_label/"+id] = map[string]any{"label": id, "n": int64(len(ls)), "qty": compAgg("sum", compCol(ls, "qty")), "low_sku": compAgg("min", compCol(ls, "sku"))}
	}
	for id, ls := range byPos {
		out["by_pos/"+id] = map[string]any{"p": ls[0]["pos"], "ten": ls[0]["tenant"], "n": int64(len(ls)), "top": compAgg("max", compCol(ls, "price")),
			"skus": compAgg("count", compCol(ls, "sku"))}
	}
	for _, p := range rows["products"] {
		ls := compFind(rows["lines"], func(l compRow) bool { return compEq(l["tenant"], p["tenant"]) && compEq(l["sku"], p["sku"]) })
		compSort(ls, "lines", "-qty", "label")
		sold := []any{}
		for _, l := range ls {
			var order any
			if o := compOne(rows["orders"], func(o compRow) bool {
				return compEq(o["tenant"], l["tenant"]) && compEq(o["order_id"], l["order_id"]) && compNotVoid(o)
			}); o != nil {
				order = map[string]any{"status": o["status"], "tname": tenantName(o["tenant"])}
			}
			sold = append(sold, map[string]any{"id": l["id"], "qty": l["qty"], "order": order})
		}
		out["product_view/"+compCompositeID(p["tenant"], p["sku"])] = map[string]any{"tenant": p["tenant"], "sku": p["sku"], "name": p["name"],
			"sold": sold, "n_sold": int64(len(sold)), "max_qty": compAgg("max", compCol(ls, "qty"))}
	}
	return out
}

// compCanon renders a value as JSON with every number, and every numeric
// text, as its decimal value rounded to 10 places (averages are
// PostgreSQL's numeric division, 16 significant digits).
func compCanon(t *testing.T, v any) string {
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
	num := func(s string) string {
		dd := decimal.RequireFromString(s)
		return "#" + dd.Round(10).String()
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
			return num(y.String())
		case string:
			if s, ok := strings.CutPrefix(y, "avg:"); ok {
				return num(s)
			}
			if _, err := decimal.NewFromString(y); err == nil && strings.Contains(y, ".") {
				return num(y)
			}
		}
		return v
	}
	out, _ := json.Marshal(walk(x))
	return string(out)
}

// compDiff reports the differences between got and want (both by
// "view/id"), at most a few, and their count.
func compDiff(t *testing.T, where string, got map[string]any, want map[string]map[string]any) int {
	t.Helper()
	bad := 0
	report := func(format string, args ...any) {
		bad++
		if bad <= 8 {
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
			report("%s missing, want %s", k, compCanon(t, want[k]))
			continue
		}
		if gs, ws := compCanon(t, g), compCanon(t, want[k]); gs != ws {
			report("%s:\n got  %s\n want %s", k, gs, ws)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			report("%s = %s, want no document", k, compCanon(t, g))
		}
	}
	return bad
}

func compSinkDocs(s *viewSink) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]any{}
	for k, d := range s.docs {
		if !d.Deleted {
			out[k] = d.Fields
		}
	}
	return out
}

// compTableDocs reads the live rows of each view's PostgreSQL reader view.
func compTableDocs(t *testing.T, pool *pgxpool.Pool) map[string]any {
	t.Helper()
	out := map[string]any{}
	ids := map[string][]string{"order_view": {"tenant", "order_id"}, "line_stats": {"tenant", "sku"}, "product_view": {"tenant", "sku"},
		"by_label": {"label"}, "by_pos": {"ten", "p"}}
	for view, cols := range ids {
		rows, err := pool.Query(context.Background(), `SELECT to_jsonb(v)::text FROM `+view+` v`)
		if err != nil {
			t.Fatal(err)
		}
		texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range texts {
			var m map[string]any
			if err := json.Unmarshal([]byte(s), &m); err != nil {
				t.Fatal(err)
			}
			vals := make([]any, len(cols))
			for i, c := range cols {
				vals[i] = m[c]
				if f, ok := m[c].(float64); ok {
					vals[i] = strconv.FormatFloat(f, 'f', -1, 64)
				}
			}
			id := compCompositeID(vals...)
			if len(cols) == 1 {
				id = vals[0].(string)
			}
			out[view+"/"+id] = m
		}
	}
	return out
}

// compRedisDocs reads the keys of the views with a Redis sink.
func compRedisDocs(t *testing.T, rdb *goredis.Client, prefix string) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, p := range []struct{ view, lit string }{{"order_view", "o:"}, {"line_stats", "s:"}} {
		keys, err := rdb.Keys(context.Background(), prefix+p.lit+"*").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			var m map[string]any
			if err := json.Unmarshal([]byte(rdb.Get(context.Background(), k).Val()), &m); err != nil {
				t.Fatalf("redis %s: %v", k, err)
			}
			ids := map[string][]string{"order_view": {"tenant", "order_id"}, "line_stats": {"tenant", "sku"}}[p.view]
			out[p.view+"/"+compCompositeID(m[ids[0]], m[ids[1]])] = m
			if want := prefix + p.lit + m[ids[0]].(string) + ":" + m[ids[1]].(string); want != k {
				t.Errorf("redis key %q holds the document of %q", k, want)
			}
		}
	}
	return out
}

// compICUPool is a pool on a fresh database whose default collation is
// English (ICU): 'a' < 'B' < 'é' there, 'B' < 'a' < 'é' in Go.
func compICUPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	base := os.Getenv("PROJECTOR_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("PROJECTOR_TEST_POSTGRES_URL not set")
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	db := testenv.Name("t_")
	if _, err := admin.Exec(ctx, `CREATE DATABASE `+db+` TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en' LOCALE 'C.UTF-8'`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), `DROP DATABASE IF EXISTS `+db+` WITH (FORCE)`); err != nil {
			t.Error(err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + db
	pool, err := pgxpool.New(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// compRebuildDocs lists the docs of view through DocIDs, limit at a time,
// and recomputes them with RecomputeDocs.
func compRebuildDocs(t *testing.T, eng *projector.Engine, view string, limit int) []sinks.Doc {
	t.Helper()
	ctx := context.Background()
	var out []sinks.Doc
	for after, pages := "", 0; ; pages++ {
		if pages > 10000 {
			t.Fatalf("rebuild of %s: DocIDs does not end", view)
		}
		ids, next, err := eng.DocIDs(ctx, view, after, limit)
		if err != nil {
			t.Fatalf("DocIDs %s after %q: %v", view, after, err)
		}
		if len(ids) == 0 {
			return out
		}
		docs, err := eng.RecomputeDocs(ctx, view, ids)
		if err != nil {
			t.Fatalf("RecomputeDocs %s: %v", view, err)
		}
		out = append(out, docs...)
		if next == "" {
			return out
		}
		after = next
	}
}

// compRebuild lists the docs of every view through DocIDs, limit at a
// time, and recomputes them with RecomputeDocs.
func compRebuild(t *testing.T, eng *projector.Engine, limit int) map[string]any {
	t.Helper()
	ctx := context.Background()
	out := map[string]any{}
	for _, view := range []string{"order_view", "line_stats", "product_view", "by_label", "by_pos"} {
		seen := map[string]bool{}
		after := ""
		for pages := 0; ; pages++ {
			if pages > 10000 {
				t.Fatalf("rebuild of %s: DocIDs does not end", view)
			}
			ids, next, err := eng.DocIDs(ctx, view, after, limit)
			if err != nil {
				t.Fatalf("DocIDs %s after %q: %v", view, after, err)
			}
			if len(ids) == 0 {
				break
			}
			for id := range ids {
				if seen[id] {
					t.Errorf("rebuild of %s: DocIDs lists %s twice", view, id)
				}
				seen[id] = true
			}
			docs, err := eng.RecomputeDocs(ctx, view, ids)
			if err != nil {
				t.Fatalf("RecomputeDocs %s: %v", view, err)
			}
			for _, d := range docs {
				if !d.Deleted {
					out[view+"/"+d.ID] = d.Fields
				}
			}
			if next == "" {
				break
			}
			after = next
		}
	}
	return out
}
