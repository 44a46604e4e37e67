package config

import (
	"strings"
	"testing"
)

// textPosFile is a file whose view's where is written as where, with
// after (other views, say) following it.
func textPosFile(where, after string) string {
	return "version: 1\nkafka: { brokers: \"localhost:9092\" }\nstores: { postgres: { url: \"postgres://localhost/x\" } }\n" +
		"sources:\n  orders: { topic: o, key: id }\nviews:\n  v:\n    from: orders\n    fields: { id: id }\n    sinks: { postgres: {} }\n" +
		"    where: " + where + "\n" + after
}

// readsAt returns the file's text from p on, or "" when p is not in it.
func readsAt(file string, p Pos) string {
	lines := strings.Split(file, "\n")
	if p.Line < 1 || p.Line > len(lines) || p.Col < 1 || p.Col > len([]rune(lines[p.Line-1])) {
		return ""
	}
	return string([]rune(lines[p.Line-1])[p.Col-1:])
}

// An anchor or a tag before a scalar (`where: &active "..."`, `!!str`)
// is where yaml.v3 says the node starts: a place inside the text is still
// found at its own character, and so through an alias to the scalar.
func TestTextPosSkipsAnchorsAndTags(t *testing.T) {
	for name, where := range map[string]string{
		"anchor, double-quoted": `&active "a != \"x\" && b"`,
		"anchor, plain":         `&active a != 'x' && b`,
		"anchor, single-quoted": `&active 'a != ''x'' && b'`,
		"tag, double-quoted":    `!!str "a != \"x\" && b"`,
		"tag, plain":            `!!str a != 'x' && b`,
		"verbatim tag":          `!<tag:yaml.org,2002:str> "a != 1 && b"`,
		"anchor and tag":        `&w !!str "a != 1 && b"`,
		"tag, then a comment":   "!!str # why\n      \"a != 1 && b\"",
		"anchor, block":         "&w |\n      a != 1 &&\n        b",
	} {
		t.Run(name, func(t *testing.T) {
			file := textPosFile(where, "")
			c, err := Parse("t.yaml", []byte(file), lookupTestEnv)
			if err != nil {
				t.Fatal(err)
			}
			v := &c.Views[0].Value
			line, col := 1, 1
			for _, r := range v.Where {
				if r == '\n' {
					line, col = line+1, 1
					continue
				}
				p := c.TextPos(&v.Where, line, col, Pos{})
				at := readsAt(file, p)
				if r != ' ' && !strings.HasPrefix(at, string(r)) && !strings.HasPrefix(at, `\`) && !strings.HasPrefix(at, "''") {
					t.Errorf("%q at %d:%d of the text: found at %s, which reads %q", r, line, col, p, at)
				}
				col++
			}
		})
	}
}

// Through an alias (`where: *active`), the text is the anchored scalar's,
// and so are its places.
func TestTextPosThroughAnAlias(t *testing.T) {
	file := textPosFile(`&active "a != 1 && b"`, "  w:\n    from: orders\n    fields: { id: id }\n    sinks: { postgres: {} }\n    where: *active\n")
	c, err := Parse("t.yaml", []byte(file), lookupTestEnv)
	if err != nil {
		t.Fatal(err)
	}
	w := &c.Views[1].Value
	if p := c.TextPos(&w.Where, 1, 8, Pos{}); p.String() != "t.yaml:11:28" {
		t.Errorf("the '&' of the aliased text: found at %s (%q), want t.yaml:11:28", p, readsAt(file, p))
	}
}

// A double-quoted scalar broken with an escaped line break and continued
// with an escaped space (`and\` then `\ b`): the space is at the `\ ` of
// the next line, and what follows is on that line.
func TestTextPosAfterAnEscapedBreakAndSpace(t *testing.T) {
	file := textPosFile("\"a != 1 and\\\n      \\ b == 2\"", "")
	c, err := Parse("t.yaml", []byte(file), lookupTestEnv)
	if err != nil {
		t.Fatal(err)
	}
	v := &c.Views[0].Value
	if v.Where != "a != 1 and b == 2" {
		t.Fatalf("where decodes to %q", v.Where)
	}
	for _, tc := range []struct {
		col  int
		want string
	}{
		{11, "t.yaml:12:7"},  // the escaped space
		{12, "t.yaml:12:9"},  // b
		{14, "t.yaml:12:11"}, // ==
	} {
		if p := c.TextPos(&v.Where, 1, tc.col, Pos{}); p.String() != tc.want {
			t.Errorf("character %d of %q: found at %s (%q), want %s", tc.col, v.Where, p, readsAt(file, p), tc.want)
		}
	}
}
