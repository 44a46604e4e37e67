package projections_test

import (
	"strings"
	"testing"
)

// "{{" and "}}" are literal braces, as a Redis Cluster hash tag is
// written: "{{shop}}" is no placeholder.
func TestRedisKeyWithLiteralHashTag(t *testing.T) {
	err := compileViews(t, `
  v:
    from: orders
    fields: { id: id }
    sinks: { redis: { key: "{{shop}}:order:{id}" } }
`)
	if err != nil {
		t.Fatalf("a key with a literal {{hash tag}} is refused:\n%v", err)
	}
}

// A postgres index on a field the view does not have is refused when the
// configuration is validated, not when `run` creates the table; so is a
// field the sink does not keep (fields:).
func TestPostgresIndexOnUnknownField(t *testing.T) {
	for _, tc := range []struct{ name, views, want string }{
		{"unknown field", `
  v:
    from: orders
    fields: { id: id, status: status }
    sinks: { postgres: { indexes: [ { fields: [statsu] } ] } }
`, `t.yaml:21:48: index #1 of postgres sink of view "v": "statsu" is not a field of the view`},
		{"field the sink does not keep", `
  v:
    from: orders
    fields: { id: id, status: status }
    sinks: { postgres: { fields: [id], indexes: [ { fields: [status] } ] } }
`, `t.yaml:21:62: index #1 of postgres sink of view "v": "status" is not among the fields the sink keeps (id)`},
		{"unknown field kept", `
  v:
    from: orders
    fields: { id: id, status: status }
    sinks: { postgres: { fields: [id, statsu] } }
`, `t.yaml:21:39: postgres sink of view "v": fields: "statsu" is not a top-level field of the view`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := compileViews(t, tc.views); err == nil || err.Error() != tc.want {
				t.Errorf("error %v\nwant %s", err, tc.want)
			}
		})
	}
}

// Two views whose Redis keys can be the same would overwrite each other's
// documents (order:1 would be a's or b's, whichever wrote last).
func TestSameRedisKeyInTwoViews(t *testing.T) {
	err := compileViews(t, `
  a:
    from: orders
    fields: { id: id }
    sinks: { redis: { key: "order:{id}" } }
  b:
    from: orders
    fields: { id: id, status: status }
    sinks: { redis: { key: "order:{id}" } }
`)
	if err == nil || !strings.HasPrefix(err.Error(), "t.yaml:25:28:") || !strings.Contains(err.Error(), `"order:{id}" of view "a" (at 21:28)`) {
		t.Errorf("error %v\nwant it at t.yaml:25:28 (b's key), naming a's key at 21:28", err)
	}
}

// An index on a path reads into a jsonb field; a path into a field of
// another type would fail when `run` creates the index.
func TestPostgresIndexPathIntoNonJSONField(t *testing.T) {
	err := compileViews(t, `
  v:
    from: orders
    fields: { id: id, status: status, buyer: { one: users, on: { _id: user_id }, fields: { name: name } } }
    sinks: { postgres: { indexes: [ { fields: [buyer.name] }, { fields: [status.x] } ] } }
`)
	want := `t.yaml:21:74: view "v": postgres index on "status.x": a path needs a jsonb field, but status is text`
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant %s", err, want)
	}
}
