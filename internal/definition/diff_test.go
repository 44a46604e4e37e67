package definition

import (
	"slices"
	"testing"
)

func TestDiff(t *testing.T) {
	base := Definition{From: "items", ID: []string{"id"}, Fields: []Field{
		{Name: "id", Kind: "column", Type: "bigint", Column: "id"},
		{Name: "name", Kind: "column", Type: "text", Column: "name"},
	}, Sinks: Sinks{Postgres: &Postgres{Schema: "public", Table: "t"}, Redis: &Redis{Key: "t:{id}", Format: "json"}}}
	edit := func(fn func(d *Definition)) Definition {
		d := base
		d.Fields = slices.Clone(base.Fields)
		p, r := *base.Sinks.Postgres, *base.Sinks.Redis
		d.Sinks = Sinks{Postgres: &p, Redis: &r}
		fn(&d)
		return d
	}
	for _, tc := range []struct {
		name    string
		cur     Definition
		texts   []string
		rebuild bool
		within  []string // stores a rebuild of which makes the view follow
	}{
		{"same", edit(func(*Definition) {}), nil, false, nil},
		{"order only", edit(func(d *Definition) { d.Fields[0], d.Fields[1] = d.Fields[1], d.Fields[0] }), nil, false, nil},
		{"added", edit(func(d *Definition) {
			d.Fields = append(d.Fields, Field{Name: "x", Kind: "expr", Type: "bigint", Expr: "1"})
		}),
			[]string{"fields added: x (existing documents lack them until a rebuild)"}, false, nil},
		{"removed and changed", edit(func(d *Definition) { d.Fields = []Field{{Name: "id", Kind: "column", Type: "text", Column: "id"}} }),
			[]string{"fields removed: name", "fields changed: id"}, true, nil},
		{"where", edit(func(d *Definition) { d.Where = "x > 1" }), []string{`where: "x > 1" (was none)`}, true, nil},
		{"redis key", edit(func(d *Definition) { d.Sinks.Redis.Key = "u:{id}" }),
			[]string{"redis key: u:{id} (was t:{id}; untouched documents are not found under it)"}, true, []string{StoreRedis}},
		{"redis removed", edit(func(d *Definition) { d.Sinks.Redis = nil }),
			[]string{"redis sink removed (keys t:{id} keep the documents they had)"}, false, []string{StoreRedis}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Diff("v", base, tc.cur)
			var texts []string
			for _, f := range c.Findings {
				texts = append(texts, f.Text)
			}
			if !slices.Equal(texts, tc.texts) || c.NeedsRebuild() != tc.rebuild {
				t.Errorf("findings %q (rebuild %v), want %q (rebuild %v)", texts, c.NeedsRebuild(), tc.texts, tc.rebuild)
			}
			if tc.within != nil && !c.Within(tc.within) {
				t.Errorf("not within %v", tc.within)
			}
			if (base.Fingerprint() == tc.cur.Fingerprint()) != (tc.name == "same") {
				t.Errorf("fingerprint equality wrong")
			}
		})
	}
	if c := Diff("v", base, edit(func(d *Definition) { d.Where = "x" })); c.Within([]string{StorePostgres, StoreRedis}) {
		t.Errorf("a where change is within the stores: only a rebuild of every store makes the view follow it")
	}
}
