package projtest

import "testing"

// TestR35dJSONBStringIsNoArray: README: "A `jsonb` column is of any type
// to the check, as its value says at run time: `tags[0]`, `any(tags, # ==
// "vip")` ... validate, and give null where the value has another shape"
// (PostgreSQL's '"hello"'::jsonb -> 0 is NULL). A jsonb holding a string is
// another shape than an array, yet expr-lang indexes and walks a Go string
// by its UTF-8 bytes: tags[0] of "héllo" is the number 104, tags[1] 195
// (half of the é), first(tags) 104 and map(tags, #) the six bytes, and
// a text field is written the number 104 (PostgreSQL stores "104", Redis
// the JSON number 104).
func TestR35dJSONBStringIsNoArray(t *testing.T) {
	expectPass(t, head+`
sources:
  users:
    topic: t.u
    key: id
    columns: { id: bigint, tags: jsonb }
views:
  v:
    from: users
    fields:
      id: id
      first_tag: { expr: "tags[0]", type: text }
      second_tag: { expr: "tags[1]", type: text }
      head: { expr: "first(tags)", type: text }
      all: { expr: "map(tags, #)", type: jsonb }
    sinks: { postgres: {} }
`, `
  - name: a string where an array is expected
    given:
      - { source: users, after: { id: 1, tags: '"héllo"' } }
    expect:
      v:
        "1": { first_tag: null, second_tag: null, head: null, all: null }
  - name: an array
    given:
      - { source: users, after: { id: 2, tags: ["vip", "early"] } }
    expect:
      v:
        "2": { first_tag: vip, second_tag: early, head: vip, all: [vip, early] }
`)
}
