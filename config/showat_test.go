package config

import "testing"

// ShowAt finds a value the environment supplied by where it was written:
// a scalar, an item of a list, the target of an alias; any other value is
// shown quoted.
func TestShowAtFindsEnvironmentValuesByPosition(t *testing.T) {
	const file = `version: 1
kafka: { brokers: "localhost:9092", group: &g "${GROUP}" }
stores: { postgres: { url: "postgres://localhost/x" } }
sources:
  orders: { topic: o, key: [id, "${GROUP}"], columns: { id: bigint, shop: text } }
views:
  v: { from: orders, fields: { id: id, shop: *g }, sinks: { postgres: {} } }
`
	c, err := Parse("t.yaml", []byte(file), lookupTestEnv)
	if err != nil {
		t.Fatal(err)
	}
	at := func(line, col int) Pos { return Pos{File: "t.yaml", Line: line, Col: col} }
	for _, tc := range []struct {
		name  string
		pos   Pos
		value string
		want  string
		env   bool
	}{
		{"a scalar", at(2, 44), "shop", "value from ${GROUP}", true},
		{"a list item", at(5, 33), "shop", "value from ${GROUP}", true},
		{"through an alias", c.ValuePos(&c.Views[0].Value.Fields[1].Value.Column, Pos{}), "shop", "value from ${GROUP}", true},
		{"written in the file", at(5, 29), "id", `"id"`, false},
		{"nowhere", at(99, 1), "x", `"x"`, false},
	} {
		if got, env := c.ShowAt(tc.pos, tc.value); got != tc.want || env != tc.env {
			t.Errorf("%s (%s): %q, %v; want %q, %v", tc.name, tc.pos, got, env, tc.want, tc.env)
		}
	}
}
