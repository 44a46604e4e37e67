package projector_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// The oracle test's schema, and how a run is compared with the oracle.

// ---- the schema, the views and the oracle ----

var (
	rvCategories = newRvTable("categories", []string{"id"}, rvCol{"id", rvI64}, rvCol{"name", rvText}, rvCol{"parent_id", rvI64})
	rvProducts   = newRvTable("products", []string{"id"}, rvCol{"id", rvI64}, rvCol{"name", rvText}, rvCol{"category_id", rvI64},
		rvCol{"price", rvDec}, rvCol{"updated_at", rvTS})
	rvUsers  = newRvTable("users", []string{"id"}, rvCol{"id", rvI64}, rvCol{"name", rvText}, rvCol{"country", rvText})
	rvOrders = newRvTable("orders", []string{"id"}, rvCol{"id", rvI64}, rvCol{"user_id", rvI64}, rvCol{"seller_id", rvI64},
		rvCol{"status", rvText}, rvCol{"region", rvText}, rvCol{"total", rvDec}, rvCol{"created_at", rvTS}, rvCol{"note", rvText})
	rvItems = newRvTable("items", []string{"id"}, rvCol{"id", rvI64}, rvCol{"order_id", rvI64}, rvCol{"product_id", rvI64},
		rvCol{"qty", rvI32}, rvCol{"rank", rvI32}, rvCol{"price", rvDec}, rvCol{"wh", rvText}, rvCol{"sku", rvText})
	rvStock = newRvTable("stock", []string{"wh", "sku"}, rvCol{"wh", rvText}, rvCol{"sku", rvText}, rvCol{"level", rvI32})
	rvLines = newRvTable("lines", []string{"order_id", "line_no"}, rvCol{"order_id", rvI64}, rvCol{"line_no", rvI32}, rvCol{"note", rvText})

	rvTables = []*rvTable{rvCategories, rvProducts, rvUsers, rvOrders, rvItems, rvStock, rvLines}
)

const rvSources = `
version: 1
kafka: { brokers: "localhost:9092", group: g }
stores: { postgres: { url: "postgres://unused" } }
sources:
  categories: { topic: rv.public.categories, key: id, columns: { id: bigint, name: text, parent_id: bigint } }
  products: { topic: rv.public.products, key: id, columns: { id: bigint, name: text, category_id: bigint, price: "numeric(10,2)", updated_at: timestamptz } }
  users: { topic: rv.public.users, key: id, columns: { id: bigint, name: text, country: text } }
  orders: { topic: rv.public.orders, key: id, columns: { id: bigint, user_id: bigint, seller_id: bigint, status: text, region: text, total: "numeric(10,2)", created_at: timestamptz, note: text } }
  items: { topic: rv.public.items, key: id, columns: { id: bigint, order_id: bigint, product_id: bigint, qty: integer, rank: integer, price: "numeric(10,2)", wh: text, sku: text } }
  stock: { topic: rv.public.stock, key: [wh, sku], columns: { wh: text, sku: text, level: integer } }
  lines: { topic: rv.public.lines, key: [order_id, line_no], columns: { order_id: bigint, line_no: integer, note: text } }
views:
`

// rvView is one view: its YAML, and the oracle: SQL giving (id columns as
// text..., doc json) over the final source rows.
type rvView struct {
	name string
	yaml string
	sql  string
}

// ---- running and comparing ----

func rvSeed(t *testing.T, def uint64) uint64 {
	if s := os.Getenv("PROJECTOR_ORACLE_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	return def
}

// rvRun projects the workload of seed through views, then compares every
// view with its oracle; it returns the mismatches (view/id → got, want).
func rvRun(t *testing.T, seed uint64, changes int, views []rvView, batchMax int) []string {
	t.Helper()
	ctx := context.Background()
	pool, _ := testenv.Postgres(t)
	yaml := rvSources
	for _, v := range views {
		yaml += v.yaml
	}
	_, plan := loadPlan(t, yaml, nil)
	sink := newViewSink()
	eng := newEngine(t, pool, plan, sink, nil)

	if s := os.Getenv("PROJECTOR_ORACLE_CHANGES"); s != "" {
		changes, _ = strconv.Atoi(s)
	}
	if s := os.Getenv("PROJECTOR_ORACLE_BATCH"); s != "" {
		batchMax, _ = strconv.Atoi(s)
	}
	g := newRvGen(seed)
	g.truncates = os.Getenv("PROJECTOR_ORACLE_TRUNCATES") != ""
	g.run(changes)
	ops := map[string]int{}
	for _, m := range g.msgs {
		if m.Value == nil {
			ops["tombstone"]++
			continue
		}
		var v struct {
			Payload struct{ Op string } `json:"payload"`
		}
		_ = json.Unmarshal(m.Value, &v)
		ops[v.Payload.Op]++
	}
	d := deliver(rand.New(rand.NewPCG(seed, 7)), g.msgs)
	t.Logf("workload: ops %v, %d records delivered with %d duplicates", ops, len(d.Records), d.Duplicates)
	rnd := rand.New(rand.NewPCG(seed, 11))
	offsets := map[string]int64{}
	recs := make([]projector.Record, len(d.Records))
	for i, m := range d.Records {
		recs[i] = projector.Record{Topic: m.Topic, Offset: offsets[m.Topic], Key: m.Key, Value: m.Value}
		offsets[m.Topic]++
	}
	for len(recs) > 0 {
		n := min(len(recs), 1+rnd.IntN(batchMax))
		dead, err := eng.Process(ctx, recs[:n])
		if err != nil {
			t.Fatalf("seed %d: process: %v", seed, err)
		}
		if len(dead) > 0 {
			t.Fatalf("seed %d: dead letters: %v", seed, dead[0].Err)
		}
		recs = recs[n:]
	}
	oracle := rvOracle(t, pool, g, views)

	var bad []string
	sink.mu.Lock()
	defer sink.mu.Unlock()
	for _, v := range views {
		want := oracle[v.name]
		got := map[string]string{}
		for _, doc := range sink.docs {
			if doc.View == v.name && !doc.Deleted {
				b, err := json.Marshal(doc.Fields)
				if err != nil {
					t.Fatal(err)
				}
				got[doc.ID] = string(b)
			}
		}
		t.Logf("%s: %d docs (oracle %d)", v.name, len(got), len(want))
		ids := map[string]bool{}
		for id := range want {
			ids[id] = true
		}
		for id := range got {
			ids[id] = true
		}
		sorted := make([]string, 0, len(ids))
		for id := range ids {
			sorted = append(sorted, id)
		}
		sort.Strings(sorted)
		for _, id := range sorted {
			w, okW := want[id]
			gd, okG := got[id]
			switch {
			case !okW:
				bad = append(bad, fmt.Sprintf("%s/%s: engine has %s, oracle has no doc", v.name, id, gd))
			case !okG:
				bad = append(bad, fmt.Sprintf("%s/%s: engine has no doc, oracle has %s", v.name, id, w))
			default:
				if diff := rvDiff(norm(t, gd), norm(t, w), ""); diff != "" {
					bad = append(bad, fmt.Sprintf("%s/%s: %s\n    engine %s\n    oracle %s", v.name, id, diff, gd, w))
				}
			}
		}
	}
	return bad
}

func rvOracle(t *testing.T, pool *pgxpool.Pool, g *rvGen, views []rvView) map[string]map[string]string {
	t.Helper()
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "CREATE SCHEMA oracle"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, rvOracleDDL); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "SET TIME ZONE 'UTC'"); err != nil {
		t.Fatal(err)
	}
	for _, tb := range rvTables {
		var names []string
		for _, c := range tb.cols {
			names = append(names, c.name)
		}
		for _, r := range g.rows[tb] {
			vals := make([]any, len(names))
			ph := make([]string, len(names))
			for i, c := range tb.cols {
				v := r[c.name]
				if c.kind == rvDec && v != nil {
					v = decimal.RequireFromString(v.(string))
				}
				vals[i] = v
				ph[i] = fmt.Sprintf("$%d", i+1)
			}
			if _, err := conn.Exec(ctx, fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", tb.name, strings.Join(names, ","), strings.Join(ph, ",")), vals...); err != nil {
				t.Fatal(err)
			}
		}
	}
	out := map[string]map[string]string{}
	for _, v := range views {
		rows, err := conn.Query(ctx, v.sql)
		if err != nil {
			t.Fatalf("oracle %s: %v", v.name, err)
		}
		docs := map[string]string{}
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				t.Fatal(err)
			}
			var parts []string
			for _, x := range vals[:len(vals)-1] {
				parts = append(parts, fmt.Sprint(x))
			}
			id := parts[0]
			if len(parts) > 1 {
				b, _ := json.Marshal(parts)
				id = string(b)
			}
			raw := rows.RawValues()[len(vals)-1] // json: its text, scales kept
			docs[id] = string(raw)
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("oracle %s: %v", v.name, err)
		}
		out[v.name] = docs
	}
	return out
}

var rvNumText = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

// norm decodes a doc keeping numbers' text, timestamps as UTC instants.
func norm(t *testing.T, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	var walk func(any) any
	walk = func(x any) any {
		switch y := x.(type) {
		case map[string]any:
			for k, e := range y {
				y[k] = walk(e)
			}
		case []any:
			for i, e := range y {
				y[i] = walk(e)
			}
		case string:
			if ts, err := time.Parse(time.RFC3339Nano, y); err == nil {
				return ts.UTC().Format(time.RFC3339Nano)
			}
			if rvNumText.MatchString(y) {
				return json.Number(y)
			}
		}
		return x
	}
	return walk(v)
}

// rvDiff names the first difference of got and want. Averages (fields
// named avg_*) compare by value to 1e-14, as the README gives them 16
// significant digits where PostgreSQL gives more.
func rvDiff(got, want any, path string) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: %v, want %v", path, got, want)
		}
		keys := map[string]bool{}
		for k := range w {
			keys[k] = true
		}
		for k := range g {
			keys[k] = true
		}
		var ks []string
		for k := range keys {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		for _, k := range ks {
			if d := rvDiff(g[k], w[k], path+"."+k); d != "" {
				return d
			}
		}
		return ""
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s: %v, want %v", path, got, want)
		}
		for i := range w {
			if d := rvDiff(g[i], w[i], fmt.Sprintf("%s[%d]", path, i)); d != "" {
				return d
			}
		}
		return ""
	case json.Number:
		g, ok := got.(json.Number)
		if !ok {
			return fmt.Sprintf("%s: %v, want %v", path, got, want)
		}
		if strings.Contains(path[strings.LastIndex(path, ".")+1:], "avg_") {
			gd, e1 := decimal.NewFromString(g.String())
			wd, e2 := decimal.NewFromString(w.String())
			if e1 != nil || e2 != nil || gd.Sub(wd).Abs().GreaterThan(decimal.New(1, -14).Mul(decimal.Max(wd.Abs(), decimal.NewFromInt(1)))) {
				return fmt.Sprintf("%s: %v, want %v", path, got, want)
			}
			return ""
		}
		if g.String() != w.String() {
			return fmt.Sprintf("%s: %v, want %v", path, got, want)
		}
		return ""
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Sprintf("%s: %#v, want %#v", path, got, want)
	}
	return ""
}

func rvReport(t *testing.T, seed uint64, bad []string) {
	t.Helper()
	if len(bad) == 0 {
		return
	}
	n := min(len(bad), 15)
	t.Errorf("seed %d (PROJECTOR_ORACLE_SEED=%d): %d docs differ from the SQL oracle; first %d:\n%s", seed, seed, len(bad), n, strings.Join(bad[:n], "\n"))
}
