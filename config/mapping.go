package config

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

type pair struct{ key, value *yaml.Node }

func isMergeKey(k *yaml.Node) bool { return k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" }

// keyNode returns the scalar a key stands for (following an alias), or nil
// when the key is a mapping or a list.
func keyNode(k *yaml.Node) *yaml.Node {
	for range 100 {
		switch {
		case k == nil:
			return nil
		case k.Kind == yaml.AliasNode:
			k = k.Alias
		case k.Kind == yaml.ScalarNode:
			return k
		default:
			return nil
		}
	}
	return nil
}

// pairs lists the keys of mapping n in file order with merge keys (<<: *x)
// expanded where they stand. As YAML specifies, keys written in n win over
// merged keys and earlier merges win over later ones; a key written twice in
// n itself is an error at its second occurrence.
func (d *decoder) pairs(n *yaml.Node, path []string) []pair {
	explicit := make(map[string]bool)
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := keyNode(n.Content[i]); k != nil && !isMergeKey(k) {
			explicit[k.Value] = true
		}
	}
	var out []pair
	first := make(map[string]Pos)
	for i := 0; i+1 < len(n.Content); i += 2 {
		raw, value := n.Content[i], n.Content[i+1]
		if isMergeKey(raw) {
			for _, p := range d.merged(value, path) {
				if _, taken := first[p.key.Value]; !taken && !explicit[p.key.Value] {
					first[p.key.Value] = d.pos(p.key)
					out = append(out, p)
				}
			}
			continue
		}
		k := keyNode(raw)
		// A problem is counted under an alias, which repeats it per copy
		// (an anchor of 300 duplicate keys aliased 500 times).
		if k == nil {
			if d.step(raw) {
				d.errs.Add(d.pos(raw), "keys must be single values, not %s (%s)", kindName(raw), describeIn(path))
			}
			continue
		}
		if p, dup := first[k.Value]; dup {
			if d.step(raw) {
				d.errs.Add(d.pos(raw), "duplicate key %q %s (first at %d:%d)", k.Value, describeIn(path), p.Line, p.Col)
			}
			continue
		}
		first[k.Value] = d.pos(raw)
		out = append(out, pair{key: &yaml.Node{Kind: yaml.ScalarNode, Value: k.Value, Line: raw.Line, Column: raw.Column}, value: value})
	}
	return out
}

// merged returns the pairs a merge key brings in: one mapping, or a list of
// mappings (earlier ones first, so that they win).
func (d *decoder) merged(v *yaml.Node, path []string) []pair {
	var out []pair
	items := []*yaml.Node{v}
	if r := follow(v); r.Kind == yaml.SequenceNode {
		items = r.Content
	}
	for _, item := range items {
		if !d.step(item) {
			return out
		}
		m, ok := d.resolve(item)
		if !ok {
			continue
		}
		if m.Kind != yaml.MappingNode {
			d.errs.Add(d.pos(item), "<< must merge a mapping or a list of mappings, not %s", kindName(m))
			continue
		}
		// Every key merge copies costs a step: merging a mapping of k keys
		// n times is k*n pairs, which maxSteps must bound as it bounds
		// what aliases expand to.
		if !d.stepBy(item, len(m.Content)/2) {
			return out
		}
		d.active[m] = true
		out = append(out, d.pairs(m, path)...)
		delete(d.active, m)
	}
	return out
}

// follow follows aliases without reporting anything; resolve reports cycles
// when the result is used.
func follow(n *yaml.Node) *yaml.Node {
	for range 100 {
		if n.Kind != yaml.AliasNode || n.Alias == nil {
			return n
		}
		n = n.Alias
	}
	return n
}

// describe names the thing at path in messages: `kafka.batch_size`,
// `source "orders"`, `field "customer.id" of view "order_view"`,
// `ttl of redis sink of view "order_view"`.
func describe(path []string) string {
	if len(path) < 2 || path[0] != "sources" && path[0] != "views" {
		if len(path) == 0 {
			return "the configuration"
		}
		return strings.Join(path, ".")
	}
	if path[0] == "sources" {
		base, rest := fmt.Sprintf("source %q", path[1]), path[2:]
		if len(rest) == 2 && rest[0] == "columns" {
			return fmt.Sprintf("column %q of %s", rest[1], base)
		}
		return within(rest, base)
	}
	base, rest := fmt.Sprintf("view %q", path[1]), path[2:]
	var names []string
	for len(rest) >= 2 && rest[0] == "fields" {
		names, rest = append(names, rest[1]), rest[2:]
	}
	switch {
	case len(names) > 0:
		base = fmt.Sprintf("field %q of %s", strings.Join(names, "."), base)
	case len(rest) >= 2 && rest[0] == "sinks":
		base, rest = fmt.Sprintf("%s sink of %s", rest[1], base), rest[2:]
		if len(rest) >= 2 && rest[0] == "indexes" {
			n, _ := strconv.Atoi(rest[1])
			base, rest = fmt.Sprintf("index #%d of %s", n+1, base), rest[2:]
		}
	}
	return within(rest, base)
}

func within(rest []string, base string) string {
	if len(rest) == 0 {
		return base
	}
	return strings.Join(rest, ".") + " of " + base
}

// describeIn is describe with a preposition: "in kafka", "at top level".
func describeIn(path []string) string {
	if len(path) == 0 {
		return "at top level"
	}
	return "in " + describe(path)
}

// Suggest returns the name closest to s when it is close enough to be a
// likely typo, else "".
// Of the closest, the first in sorted order, whatever the order of names.
func Suggest(s string, names []string) string { return suggest(s, names) }

func suggest(s string, names []string) string {
	if len(s) > maxSuggested {
		return ""
	}
	best, bestDist := "", max(1, len(s)/3) // farthest still suggested
	for _, n := range names {
		if len(n) > maxSuggested || abs(len(n)-len(s)) > bestDist {
			continue // farther than the best already: a length apart
		}
		if dist := editDistance(s, n, bestDist); dist < bestDist || dist == bestDist && (best == "" || n < best) {
			best, bestDist = n, dist
		}
	}
	return best
}

// maxSuggested bounds the names a suggestion is looked for among: a
// name longer than that is no typing slip of another, and comparing two
// takes the product of their lengths.
const maxSuggested = 256

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// editDistance counts the edits from a to b: a character inserted,
// deleted or replaced, or two neighbours swapped ("tabel" is one from
// "table"), as typing slips are; past bound, it stops with a count over
// bound. It keeps three rows of the table (a swap looks two back), not
// the whole of it, on the stack: b is at most maxSuggested bytes.
func editDistance(a, b string, bound int) int {
	var rows [3][maxSuggested + 1]int
	prev2, prev, cur := rows[0][:len(b)+1], rows[1][:len(b)+1], rows[2][:len(b)+1]
	for j := range prev {
		prev[j] = j
	}
	prevLeast := 0
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		least := i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
			least = min(least, cur[j])
		}
		if least > bound && prevLeast >= bound {
			// Each row's least is at least the row before's, or one
			// more than the one before that's: no later row comes back
			// to bound.
			return bound + 1
		}
		prev2, prev, cur = prev, cur, prev2
		prevLeast = least
	}
	return prev[len(b)]
}

func quote(s string) string { return strconv.Quote(s) }

func itoa(i int) string { return strconv.Itoa(i) }
