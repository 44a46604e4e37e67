package config

import (
	"strings"
	"testing"
)

// Positions of values, and of places inside an expression's text, as
// package projections reports its errors at them.
func TestValueAndTextPositions(t *testing.T) {
	const file = `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://localhost/x" } }
sources:
  orders: { topic: o, key: id }
views:
  v:
    from: orders
    where: a > 1
    fields:
      id: id
      q: { expr: "a + b", type: bigint }
      b:
        type: bigint
        expr: |
          a +
            b
      e: { expr: "${GROUP} + 1", type: text }
    sinks: { postgres: {} }
`
	c, err := Parse("t.yaml", []byte(file), lookupTestEnv)
	if err != nil {
		t.Fatal(err)
	}
	v := &c.Views[0].Value
	q, b, e := &v.Fields[1].Value, &v.Fields[2].Value, &v.Fields[3].Value
	fallback := Pos{File: "t.yaml", Line: 99, Col: 1}
	for _, tc := range []struct {
		name string
		got  Pos
		want string
	}{
		{"plain value", c.ValuePos(&v.Where, fallback), "t.yaml:9:12"},
		{"inside a plain value", c.TextPos(&v.Where, 1, 5, fallback), "t.yaml:9:16"},
		{"quoted value", c.ValuePos(&q.Expr, fallback), "t.yaml:12:18"},
		{"inside a quoted value", c.TextPos(&q.Expr, 1, 5, fallback), "t.yaml:12:23"},
		{"inside a block value", c.TextPos(&b.Expr, 2, 3, fallback), "t.yaml:17:13"},
		{"a value from the environment", c.TextPos(&e.Expr, 1, 5, fallback), "t.yaml:18:18"},
		{"a value not in the file", c.ValuePos(&v.ID, fallback), "t.yaml:99:1"},
		{"a list item", c.ItemPos(&v.GroupBy, 0, fallback), "t.yaml:99:1"},
	} {
		if tc.got.String() != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, tc.got, tc.want)
		}
	}
}

// TestTextPosFindsEachCharacter checks, for scalars written in every
// style, that each character of the decoded text is found where it was
// written: at the same character, or at the escape that gave it.
func TestTextPosFindsEachCharacter(t *testing.T) {
	wheres := map[string]string{
		"plain":                 `a != 'x' && b == 1`,
		"plain over lines":      "a != 'x' &&\n      b == 1\n\n      && c",
		"double-quoted":         `"a != \"x\" && b == '\x41\u00e9' && c"`,
		"double-quoted folded":  "\"a != 1 &&   \n      b == 2 \\\n      && c\"",
		"single-quoted":         `'a != ''x'' && b'`,
		"single-quoted folded":  "'a != ''x'' &&\n\n      b'",
		"literal block":         "|\n      a != 'é' &&\n        b == 1\n      && c",
		"folded block":          ">-\n      a != 'x' &&\n      b == 1\n\n      && c",
		"folded with a comment": ">- # why\n\n      a &&\n      b",
	}
	for name, where := range wheres {
		t.Run(name, func(t *testing.T) {
			file := "version: 1\nkafka: { brokers: \"localhost:9092\" }\nstores: { postgres: { url: \"postgres://localhost/x\" } }\n" +
				"sources:\n  orders: { topic: o, key: id }\nviews:\n  v:\n    from: orders\n    fields: { id: id }\n    sinks: { postgres: {} }\n" +
				"    where: " + where + "\n"
			c, err := Parse("t.yaml", []byte(file), lookupTestEnv)
			if err != nil {
				t.Fatal(err)
			}
			v := &c.Views[0].Value
			lines := strings.Split(file, "\n")
			line, col := 1, 1
			for _, r := range v.Where {
				if r == '\n' {
					line, col = line+1, 1
					continue
				}
				p := c.TextPos(&v.Where, line, col, Pos{})
				var at []rune
				if p.Line >= 1 && p.Line <= len(lines) && p.Col >= 1 && p.Col <= len([]rune(lines[p.Line-1])) {
					at = []rune(lines[p.Line-1])[p.Col-1:]
				}
				ok := len(at) > 0 && (at[0] == r || at[0] == '\\' || r == '\'' && strings.HasPrefix(string(at), "''"))
				if r != ' ' && !ok {
					t.Errorf("%q at %d:%d of the text: found at %s, which reads %q", r, line, col, p, string(at))
				}
				col++
			}
		})
	}
}
