package projections_test

import (
	"strings"
	"testing"
)

// TestRefreshNeedsTheClock: refresh is for a view whose documents change
// with the clock: any of its expressions calling now(), at any depth, lets
// it; a view none of whose expressions does is refused at the refresh's
// line:col, and a refresh under a second (or negative) at its own.
func TestRefreshNeedsTheClock(t *testing.T) {
	for _, c := range []struct{ name, refresh, where, field, want string }{
		{"view where", "1h", `now().Unix() > 0`, `status`, ""},
		{"expr field", "30s", `status != "x"`, `{ expr: 'now().Year() > 2000 ? "a" : "b"', type: text }`, ""},
		{"join where", "1m", `status != "x"`, `{ one: users, on: { _id: user_id }, where: "now().Unix() > 0", fields: { name: name } }`, ""},
		{"nested expr", "1m", `status != "x"`, `{ one: users, on: { _id: user_id }, fields: { y: { expr: "now().Year()", type: bigint } } }`, ""},
		{"agg where", "1m", `status != "x"`, `{ agg: count, of: items, where: "now().Unix() > 0" }`, ""},
		{"no clock", "1h", `status != "x"`, `status`, `t.yaml:21:14: view "v": refresh recomputes the documents of a view whose expressions call now(); none of this view's do`},
		{"too often", "500ms", `now().Unix() > 0`, `status`, `t.yaml:21:14: view "v": refresh must be at least 1s (or 0s: never), got 500ms`},
		{"negative", "-1m", `now().Unix() > 0`, `status`, `t.yaml:21:14: view "v": refresh must be at least 1s (or 0s: never), got -1m0s`},
		{"never", "0s", `status != "x"`, `status`, ""},
	} {
		err := compileViews(t, `
  v:
    from: orders
    where: '`+c.where+`'
    refresh: `+c.refresh+`
    fields:
      id: id
      items: { many: items, on: { order_id: id }, fields: { id: id } }
      f: `+c.field+`
    sinks: { postgres: {} }
`)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v\nwant %q", c.name, err, c.want)
		}
	}
}

// TestRefreshGroupView: a group_by view whose aggregate's where reads the
// clock may refresh.
func TestRefreshGroupView(t *testing.T) {
	err := compileViews(t, `
  s:
    from: orders
    group_by: user_id
    refresh: 10m
    fields:
      user_id: user_id
      recent: { agg: count, where: "now().Unix() > 0" }
    sinks: { postgres: {} }
`)
	if err != nil {
		t.Fatal(err)
	}
}
