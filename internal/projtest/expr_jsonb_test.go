package projtest

import "testing"

// A jsonb column is of any type to validate: what it holds says, at run
// time, whether it is indexed, walked or added up. An array's elements,
// an object's members and a number inside one all reach expressions (an
// array was refused as an object: `tags[0]` and `any(tags, …)` did not
// validate).
func TestJSONBInExpressions(t *testing.T) {
	expectPass(t, head+`
sources:
  users:
    topic: t.u
    key: id
    columns: { id: bigint, tags: jsonb, info: jsonb }
views:
  v:
    from: users
    fields:
      id: id
      first_tag: { expr: "tags[0]", type: text }
      vip: { expr: 'any(tags, # == "vip")', type: boolean }
      tag_count: { expr: "len(tags)", type: bigint }
      city: { expr: "info.address.city", type: text }
      visits: { expr: "info.visits + 1", type: bigint }
      spent: { expr: "info.spent * 2", type: "numeric(10,2)" }
      second_city: { expr: "info.homes[1].city", type: text }
    sinks: { postgres: {} }
`, `
  - name: array and object
    given:
      - source: users
        after:
          id: 1
          tags: ["vip", "early"]
          info: { address: { city: "Lyon" }, visits: 41, spent: 10.15, homes: [{ city: "Paris" }, { city: "Nice" }] }
    expect:
      v:
        "1": { first_tag: vip, vip: true, tag_count: 2, city: Lyon, visits: 42, spent: "20.30", second_city: Nice }
  - name: other shapes give null
    given:
      - { source: users, after: { id: 2, tags: { a: 1 }, info: [1, 2] } }
    expect:
      v:
        "2": { first_tag: null, city: null, visits: null }
`)
}
