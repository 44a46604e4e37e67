package query

import (
	"net/url"
	"strings"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projections"
)

const unitYAML = `
version: 1
kafka: { brokers: "localhost:9092" }
stores:
  postgres: { url: "postgres://localhost/x" }
  redis: { url: "redis://localhost" }
  elasticsearch: { url: "http://localhost:9200" }
sources:
  orders:
    topic: app.public.orders
    key: id
    columns: { id: bigint, user_id: text, status: text, total: "numeric(10,2)", created_at: timestamptz, paid: boolean, tags: "text[]", meta: jsonb }
  users:
    topic: app.public.users
    key: id
    columns: { id: text, name: text, score: integer }
views:
  orders:
    from: orders
    fields:
      id: id
      status: status
      total: total
      created_at: created_at
      paid: paid
      tags: tags
      meta: meta
      customer: { one: users, on: { id: user_id }, fields: { id: id, name: name, score: score } }
    sinks:
      postgres: { table: weird }
      elasticsearch: {}
`

func unitViews(t testing.TB) map[string]*view {
	t.Helper()
	cfg, err := config.Parse("unit.yaml", []byte(unitYAML), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	views, err := catalog(cfg, plan)
	if err != nil {
		t.Fatal(err)
	}
	return views
}

// render builds the list statement and the search body of a request, as
// the server would.
func render(v *view, params url.Values, cur []*string) (string, []any, error) {
	filters, err := parseFilters(v, params)
	if err != nil {
		return "", nil, err
	}
	s, err := parseSort(v, params)
	if err != nil {
		return "", nil, err
	}
	k := newKeyset(v, s)
	if cur != nil && len(cur) != len(k.fields) {
		cur = nil
	}
	sql, args := listSQL(v, filters, k, cur, 10)
	if _, err := searchBody(v, params); err != nil && !strings.Contains(err.Error(), "embedded object") {
		return "", nil, err
	}
	return sql, args, nil
}

// FuzzRequestNeverReachesSQL: whatever the query string, parsing does not
// panic, and the statement's text does not depend on the values: changing
// every value (and the cursor's) changes only the parameters.
func FuzzRequestNeverReachesSQL(f *testing.F) {
	for _, seed := range []string{
		"status=paid&sort=-total", "total[gte]=1.5&total[lt]=99", "customer.id[in]=a,b,c", "customer.score[gt]=3",
		"created_at[lte]=2024-05-01T00:00:00Z&paid=true", "sort=created_at", "id[eq]=7&sort=-id",
		"status='%20OR%201=1--", "customer.name=Robert');DROP TABLE x;--", "limit=5",
	} {
		f.Add(seed, "2024-01-01 00:00:00+00", "17")
	}
	views := unitViews(f)
	v := views["orders"]
	f.Fuzz(func(t *testing.T, query, k0, k1 string) {
		params, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		delete(params, "limit")
		sql, args, err := render(v, params, []*string{&k0, &k1})
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("%q: not an *Error: %v", query, err)
			}
			return
		}
		// The same request with other values.
		other := url.Values{}
		for key, vals := range params {
			for _, val := range vals {
				if strings.HasSuffix(key, "[in]") {
					val = strings.Repeat("0,", strings.Count(val, ","))
					val += "0"
				} else if key != "sort" {
					val = "0"
				}
				other.Add(key, val)
			}
		}
		z0, z1 := "zz", "yy"
		sql2, _, err := render(v, other, []*string{&z0, &z1})
		if err != nil {
			// "0" is not a valid value of every type; the comparison needs
			// a request that parses.
			return
		}
		if sql != sql2 {
			t.Fatalf("statement text depends on the values:\n%s\n%s", sql, sql2)
		}
		for _, a := range args {
			if s, ok := a.(string); ok && len(s) > 3 && strings.Contains(sql, s) && !strings.Contains(unitYAML, s) {
				t.Fatalf("value %q appears in the statement %s", s, sql)
			}
		}
	})
}

func TestListSQLShapes(t *testing.T) {
	v := unitViews(t)["orders"]
	a, b := "5", "7"
	for _, c := range []struct {
		query string
		cur   []*string
		want  []string
	}{
		{"", nil, []string{`FROM "public"."weird" r ORDER BY r."id" ASC LIMIT $1`}},
		{"status=paid", []*string{&a}, []string{`r."status" = $1::text::text`, `(r."id") > ($3::text::bigint)`}},
		{"customer.id=u1", nil, []string{`(r."customer"->>'id') = $1::text::text`}},
		{"customer.score[gte]=3", nil, []string{`((r."customer"->>'score'))::integer >= $1::text::integer`}},
		{"total[in]=1,2", nil, []string{`r."total" = ANY($1::text[]::numeric[])`}},
		{"sort=-created_at", []*string{&a, &b}, []string{`(r."created_at", r."id") < ($2::text::timestamptz, $3::text::bigint)`}},
		{"sort=created_at", []*string{nil, &b}, []string{`r."created_at" IS NULL AND (r."id") > ($2::text::bigint)`}},
		{"sort=created_at", []*string{&a, &b}, []string{`UNION ALL`, `r."created_at" IS NULL ORDER BY r."id" ASC`}},
		{"sort=-created_at", []*string{nil, &b}, []string{`UNION ALL`, `r."created_at" IS NOT NULL ORDER BY r."created_at" DESC, r."id" DESC`}},
	} {
		params, _ := url.ParseQuery(c.query)
		sql, _, err := render(v, params, c.cur)
		if err != nil {
			t.Fatalf("%q: %v", c.query, err)
		}
		for _, w := range c.want {
			if !strings.Contains(sql, w) {
				t.Errorf("%q: statement lacks %s:\n%s", c.query, w, sql)
			}
		}
	}
	for _, q := range []string{"tags=a", "meta=1", "sort=tags", "sort=meta", "sort=customer.id", "customer.nope=1"} {
		params, _ := url.ParseQuery(q)
		if _, _, err := render(v, params, nil); err == nil {
			t.Errorf("%q accepted", q)
		}
	}
}

func TestCursorCodec(t *testing.T) {
	a := cursorCodec{key: []byte("key a")}
	b := cursorCodec{key: []byte("key b")}
	k := "x\"y"
	c, err := a.encode(cursor{View: "orders", Query: "q", Keys: []*string{&k, nil}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := a.decode(c)
	if err != nil || got.View != "orders" || *got.Keys[0] != k || got.Keys[1] != nil {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	if _, err := b.decode(c); err == nil {
		t.Error("another server's key accepted the cursor")
	}
	for i := range c {
		for _, r := range []byte{'A', 'B', '_', '.'} {
			if c[i] == r {
				continue
			}
			if _, err := a.decode(c[:i] + string(r) + c[i+1:]); err == nil {
				t.Fatalf("changed byte %d (%q→%q) accepted", i, c[i], r)
			}
		}
	}
}
