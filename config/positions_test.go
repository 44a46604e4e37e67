package config

import "testing"

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
		{"inside a block value", c.TextPos(&b.Expr, 2, 3, fallback), "t.yaml:17:15"},
		{"a value from the environment", c.TextPos(&e.Expr, 1, 5, fallback), "t.yaml:18:18"},
		{"a value not in the file", c.ValuePos(&v.ID, fallback), "t.yaml:99:1"},
		{"a list item", c.ItemPos(&v.GroupBy, 0, fallback), "t.yaml:99:1"},
	} {
		if tc.got.String() != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, tc.got, tc.want)
		}
	}
}
