package projtest

import "testing"

// TestR35gGroupByEqualNumbersOneGroup: README: "`sortBy` and `groupBy` order
// and group by the nearest float", and "a `groupBy` result is an object keyed
// by each key's text". A jsonb array holding 1 and 1.0 (equal numbers, as
// PostgreSQL's jsonb compares them: '1'::jsonb = '1.0'::jsonb) groups 1, an
// integer, apart from 1.0, a decimal made a float: two groups whose keys have
// one text, so the whole result is null (and counted as an error), where the
// nearest float of both is 1 and they are one group.
func TestR35gGroupByEqualNumbersOneGroup(t *testing.T) {
	expectPass(t, head+`
sources:
  users:
    topic: t.u
    key: id
    columns: { id: bigint, info: jsonb }
views:
  v:
    from: users
    fields:
      id: id
      groups: { expr: 'groupBy(info.sizes, #)', type: jsonb }
      sizes: { expr: 'keys(groupBy(info.sizes, #))', type: jsonb }
    sinks: { postgres: {} }
`, `
  - name: 1 and 1.0 are one number
    given:
      - { source: users, after: { id: 1, info: { sizes: [1, 1.0, 2.5] } } }
    expect:
      v:
        "1": { groups: { "1": [1, 1.0], "2.5": [2.5] }, sizes: [1, 2.5] }
`)
}
