package projector_test

// Review 32e: a seeded random differential test of group_by views whose
// one: join embeds joins of its own (three levels of one:, a many: with
// where, order_by and limit, aggregates of that array, exprs reading the
// nested joined fields), over three group shapes: joined on a later
// group_by column (the join's own index walked), on every group_by column
// (one root row read per group), and on the first (the view's group
// index). Many users share a company, so that with chunks of one or two
// documents a change of a company or country is embedded in more middle
// rows than spillRows chunks (climb pages them). Moved foreign keys at each
// level, deletes and re-creates, truncates of every source; the output of
// the PostgreSQL and memory engines and their rebuilds are compared with a
// plain join of the final rows after every batch.
//
// R32E_SEED=N reruns one seed.

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

const r32eUserJoin = `
        one: users
        on: { id: user_id }
        fields:
          name: name
          company:
            one: companies
            on: { id: company_id }
            fields:
              name: name
              country: { one: countries, on: { id: country_id }, column: name }
          clabel: { expr: 'company == nil ? "none" : (company.country ?? "nc")', type: text }
          tags: { many: tags, on: { user_id: id }, where: 'active == true', order_by: [-weight, tag], limit: 2, fields: { tag: tag, weight: weight } }
          ntags: { agg: count, of: tags }
          wmax: { agg: max, of: tags.weight }`

var r32eYAML = reviewHead + `
sources:
  orders: { topic: t.public.orders, format: json, key: id, columns: { id: bigint, user_id: text, status: text, amount: bigint } }
  users: { topic: t.public.users, format: json, key: id, columns: { id: text, name: text, company_id: bigint } }
  companies: { topic: t.public.companies, format: json, key: id, columns: { id: bigint, name: text, country_id: bigint } }
  countries: { topic: t.public.countries, format: json, key: id, columns: { id: bigint, name: text } }
  tags: { topic: t.public.tags, format: json, key: id, columns: { id: bigint, user_id: text, tag: text, weight: bigint, active: boolean } }
views:
  s_su:
    from: orders
    group_by: [status, user_id]
    fields:
      status: status
      user_id: user_id
      n: { agg: count }
      total: { agg: sum, of: amount }
      user:` + r32eUserJoin + `
      label: { expr: 'user == nil ? "-" : user.clabel', type: text }
    sinks: { postgres: {} }
  s_u:
    from: orders
    group_by: [user_id]
    fields:
      user_id: user_id
      n: { agg: count }
      user:` + r32eUserJoin + `
      label: { expr: 'user == nil ? "-" : user.clabel', type: text }
    sinks: { postgres: {} }
  s_us:
    from: orders
    group_by: [user_id, status]
    fields:
      user_id: user_id
      status: status
      n: { agg: count }
      user:` + r32eUserJoin + `
    sinks: { postgres: {} }
`

type r32eRow = map[string]any

type r32eGen struct {
	rnd    *rand.Rand
	rows   map[string]map[string]r32eRow
	lsn    int64
	nUsers int
}

func (g *r32eGen) pick(vals ...any) any { return vals[g.rnd.IntN(len(vals))] }

func (g *r32eGen) user() string { return "u" + strconv.Itoa(g.rnd.IntN(g.nUsers)) }

// step makes one change (or truncate) and returns its record.
func (g *r32eGen) step() projector.Record {
	g.lsn += 10
	src := g.pick("orders", "orders", "orders", "orders", "users", "users", "companies", "countries", "tags", "tags", "tags").(string)
	if g.rnd.IntN(150) == 0 {
		g.rows[src] = map[string]r32eRow{}
		return projector.Record{Topic: "t.public." + src, Value: envelope(src, "t", nil, nil, g.lsn)}
	}
	var id any
	var row r32eRow
	switch src {
	case "orders":
		id = json.Number(strconv.Itoa(g.rnd.IntN(50)))
		row = r32eRow{"id": id, "user_id": g.pick(g.user(), g.user(), g.user(), nil), "status": g.pick("paid", "open", "paid"), "amount": g.pick(json.Number(strconv.Itoa(g.rnd.IntN(100))), nil)}
	case "users":
		id = g.user()
		row = r32eRow{"id": id, "name": g.pick("Ada", "Bob", nil), "company_id": g.pick(json.Number("1"), json.Number("1"), json.Number("1"), json.Number("2"), json.Number("3"), nil)}
	case "companies":
		id = json.Number(strconv.Itoa(1 + g.rnd.IntN(3)))
		row = r32eRow{"id": id, "name": g.pick("Acme", "Initech", nil), "country_id": g.pick(json.Number("1"), json.Number("2"), nil)}
	case "countries":
		id = json.Number(strconv.Itoa(1 + g.rnd.IntN(2)))
		row = r32eRow{"id": id, "name": g.pick("FR", "DE", "NL", nil)}
	case "tags":
		id = json.Number(strconv.Itoa(g.rnd.IntN(40)))
		row = r32eRow{"id": id, "user_id": g.user(), "tag": g.pick("a", "b", "c", nil), "weight": g.pick(json.Number("1"), json.Number("2"), json.Number("3"), nil), "active": g.pick(true, true, false, nil)}
	}
	k := fmt.Sprint(id)
	key := must(json.Marshal(map[string]any{"id": id}))
	old, had := g.rows[src][k]
	if had && g.rnd.IntN(5) == 0 {
		delete(g.rows[src], k)
		return projector.Record{Topic: "t.public." + src, Key: key, Value: envelope(src, "d", old, nil, g.lsn)}
	}
	op := "c"
	if had {
		op = "u"
	}
	g.rows[src][k] = row
	return projector.Record{Topic: "t.public." + src, Key: key, Value: envelope(src, op, nil, row, g.lsn)}
}

func r32eNum(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := n.Int64()
	return i, err == nil
}

// r32eUser is the user object the views embed: nil when there is none.
func r32eUser(rows map[string]map[string]r32eRow, uid string) any {
	u, ok := rows["users"][uid]
	if !ok {
		return nil
	}
	var company any
	clabel := "none"
	if c, ok := u["company_id"].(json.Number); ok {
		if row, ok := rows["companies"][c.String()]; ok {
			var country any
			if cc, ok := row["country_id"].(json.Number); ok {
				if r, ok := rows["countries"][cc.String()]; ok {
					country = r["name"]
				}
			}
			company = map[string]any{"name": row["name"], "country": country}
			clabel = "nc"
			if s, ok := country.(string); ok {
				clabel = s
			}
		}
	}
	type tagRow struct {
		key string
		row r32eRow
	}
	var ts []tagRow
	for key, tr := range rows["tags"] {
		if tr["user_id"] == uid && tr["active"] == true {
			ts = append(ts, tagRow{key, tr})
		}
	}
	sort.Slice(ts, func(i, j int) bool {
		a, aok := r32eNum(ts[i].row["weight"])
		b, bok := r32eNum(ts[j].row["weight"])
		switch {
		case aok != bok:
			return !aok // descending: nulls first
		case aok && a != b:
			return a > b
		}
		x, xok := ts[i].row["tag"].(string)
		y, yok := ts[j].row["tag"].(string)
		switch {
		case xok != yok:
			return xok // ascending: nulls last
		case xok && x != y:
			return x < y
		}
		return ts[i].key < ts[j].key
	})
	tags := []any{}
	var wmax any
	for i, x := range ts {
		if i < 2 {
			tags = append(tags, map[string]any{"tag": x.row["tag"], "weight": x.row["weight"]})
		}
		if w, ok := r32eNum(x.row["weight"]); ok {
			if m, ok := r32eNum(wmax); !ok || w > m {
				wmax = x.row["weight"]
			}
		}
	}
	return map[string]any{"name": u["name"], "company": company, "clabel": clabel, "tags": tags, "ntags": len(ts), "wmax": wmax}
}

func r32eOracle(rows map[string]map[string]r32eRow) map[string]string {
	type acc struct {
		n     int
		total int64
		some  bool
	}
	groups := map[[2]string]*acc{}
	for _, o := range rows["orders"] {
		u, ok := o["user_id"].(string)
		s, ok2 := o["status"].(string)
		if !ok || !ok2 {
			continue
		}
		g := groups[[2]string{s, u}]
		if g == nil {
			g = &acc{}
			groups[[2]string{s, u}] = g
		}
		g.n++
		if a, ok := r32eNum(o["amount"]); ok {
			g.total += a
			g.some = true
		}
	}
	label := func(user any) any {
		if user == nil {
			return "-"
		}
		return user.(map[string]any)["clabel"]
	}
	out := map[string]string{}
	perUser := map[string]int{}
	for k, g := range groups {
		user := r32eUser(rows, k[1])
		var total any
		if g.some {
			total = g.total
		}
		out["s_su/"+string(must(json.Marshal([]string{k[0], k[1]})))] = canonicalJSONValue(map[string]any{
			"status": k[0], "user_id": k[1], "n": g.n, "total": total, "user": user, "label": label(user)})
		out["s_us/"+string(must(json.Marshal([]string{k[1], k[0]})))] = canonicalJSONValue(map[string]any{
			"status": k[0], "user_id": k[1], "n": g.n, "user": user})
		perUser[k[1]] += g.n
	}
	for u, n := range perUser {
		user := r32eUser(rows, u)
		out["s_u/"+u] = canonicalJSONValue(map[string]any{"user_id": u, "n": n, "user": user, "label": label(user)})
	}
	return out
}

func r32eDiff(t *testing.T, where string, got, want map[string]string) int {
	t.Helper()
	bad := 0
	for k, w := range want {
		if got[k] != w {
			bad++
			if bad <= 6 {
				t.Errorf("%s: %s\n got %s\nwant %s", where, k, got[k], w)
			}
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			bad++
			if bad <= 6 {
				t.Errorf("%s: %s = %s, want no document", where, k, g)
			}
		}
	}
	return bad
}

func r32eSinkDocs(s *viewSink) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for k, d := range s.docs {
		if !d.Deleted {
			out[k] = canonicalJSONValue(d.Fields)
		}
	}
	return out
}

func r32eRebuild(t *testing.T, eng *projector.Engine, limit int) map[string]string {
	out := map[string]string{}
	for _, view := range []string{"s_su", "s_u", "s_us"} {
		for _, d := range compRebuildDocs(t, eng, view, limit) {
			if !d.Deleted {
				out[view+"/"+d.ID] = canonicalJSONValue(d.Fields)
			}
		}
	}
	return out
}

func TestReview32eGroupNestedJoinsConverge(t *testing.T) {
	seeds := []uint64{1, 2, 3}
	if s := os.Getenv("R32E_SEED"); s != "" {
		seeds = []uint64{must(strconv.ParseUint(s, 10, 64))}
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r32eRun(t, seed, 500)
		})
	}
}

func r32eRun(t *testing.T, seed uint64, steps int) {
	ctx := context.Background()
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, r32eYAML, nil)
	chunk := 1 + int(seed%2)
	pgSink, memSink := newViewSink(), newViewSink()
	pgEng := crEngine(t, plan, pool, chunk, pgSink)
	memEng := crEngine(t, plan, nil, chunk, memSink)
	g := &r32eGen{rnd: rand.New(rand.NewPCG(seed, 32)), rows: map[string]map[string]r32eRow{}, nUsers: 24}
	for _, s := range []string{"orders", "users", "companies", "countries", "tags"} {
		g.rows[s] = map[string]r32eRow{}
	}
	for done := 0; done < steps; {
		n := 1 + g.rnd.IntN(8)
		var batch []projector.Record
		for range n {
			batch = append(batch, g.step())
		}
		done += n
		for name, eng := range map[string]*projector.Engine{"postgres": pgEng, "memory": memEng} {
			dead, err := eng.Process(ctx, batch)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for _, d := range dead {
				t.Fatalf("%s: dead letter: %v", name, d.Err)
			}
		}
		want := r32eOracle(g.rows)
		if r32eDiff(t, fmt.Sprintf("seed %d chunk %d postgres after %d changes", seed, chunk, done), r32eSinkDocs(pgSink), want)+
			r32eDiff(t, fmt.Sprintf("seed %d chunk %d memory after %d changes", seed, chunk, done), r32eSinkDocs(memSink), want) > 0 {
			t.FailNow()
		}
	}
	want := r32eOracle(g.rows)
	for _, limit := range []int{1, 3} {
		r32eDiff(t, fmt.Sprintf("postgres rebuild (limit %d)", limit), r32eRebuild(t, pgEng, limit), want)
		r32eDiff(t, fmt.Sprintf("memory rebuild (limit %d)", limit), r32eRebuild(t, memEng, limit), want)
	}
	t.Logf("seed %d chunk %d: %d docs, %d users, %d tags", seed, chunk, len(want), len(g.rows["users"]), len(g.rows["tags"]))
}
