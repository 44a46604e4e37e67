package config

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// ValuePos returns where the value *ptr, a field of c, was written, or
// fallback when it was not (absent, defaulted, or ptr points into a copy).
// Package projections points its errors about a value (an expression, an
// order_by item) at the value this way rather than at the key of the
// mapping holding it, which can be lines away.
func (c *Config) ValuePos(ptr any, fallback Pos) Pos {
	if vi := c.values[ptr]; vi != nil {
		return vi.pos
	}
	return fallback
}

// Unset reports whether *ptr, a field of c, is a connection setting whose
// ${NAME} was not set, read with Options.UnsetConnections: it holds the
// reference's text and was not checked.
func (c *Config) Unset(ptr any) bool {
	vi := c.values[ptr]
	return vi != nil && vi.unset
}

// ItemPos returns where item i of the list *ptr, a field of c, was written,
// or fallback.
func (c *Config) ItemPos(ptr *StringList, i int, fallback Pos) Pos {
	if vi := c.values[ptr]; vi != nil && i < len(vi.items) {
		return vi.items[i].pos
	}
	return c.ValuePos(ptr, fallback)
}

// TextPos returns where the character at line:col (1-based, in characters)
// of the text of the scalar *ptr stands in the file, for an error inside an
// expression. It reads the scalar as written, so escapes (\" in double
// quotes, a doubled quote in single quotes), lines folded into spaces and
// the indentation of a block scalar (| or >) are accounted for. A value
// from the environment, whose text was not written in the file, gives the
// value's own position.
func (c *Config) TextPos(ptr *string, line, col int, fallback Pos) Pos {
	vi := c.values[ptr]
	if vi == nil {
		return fallback
	}
	if vi.env || line < 1 || col < 1 {
		return vi.pos
	}
	if p, ok := c.sourcePos(vi, *ptr, runeIndex(*ptr, line, col)); ok {
		return p
	}
	// The text cannot be matched with the file (a !!binary scalar, say):
	// as near as the value's position tells.
	p := vi.pos
	switch {
	case vi.style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		p.Line += line
	case line > 1:
		p.Line += line - 1
		p.Col = col
	case vi.style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0:
		p.Col += col
	default:
		p.Col += col - 1
	}
	return p
}

// runeIndex returns the index, in characters, of line:col of text, or -1
// when text has no such place. The end of a line (or of the text) is a
// place, where an error about what is missing stands.
func runeIndex(text string, line, col int) int {
	k, l, c := 0, 1, 1
	for _, r := range text {
		if l == line && c == col {
			return k
		}
		if r == '\n' {
			if l == line {
				return -1
			}
			l, c = l+1, 1
		} else {
			c++
		}
		k++
	}
	if l == line && c == col {
		return k
	}
	return -1
}

// sourcePos finds where character k of text, the decoded value of a scalar
// written at vi.pos, stands in the file. It walks the scalar as written
// and the decoded text together: each character of the text comes from
// the same character in the file, from an escape (\x41, \", a doubled
// single quote) or, for
// white space, from a line break folded into a space; between characters
// the file may have line breaks, indentation and escaped line breaks,
// which give nothing. ok is false when the two do not match.
func (c *Config) sourcePos(vi *valueInfo, text string, k int) (p Pos, ok bool) {
	if k < 0 {
		return Pos{}, false
	}
	s := scalarScan{src: c.source, pos: vi.pos}
	if !s.seek() {
		return Pos{}, false
	}
	// yaml.v3 puts a node with an anchor or a tag at its first property.
	s.skipProperties()
	double := vi.style&yaml.DoubleQuotedStyle != 0
	single := vi.style&yaml.SingleQuotedStyle != 0
	switch {
	case double || single:
		if s.at() != '"' && s.at() != '\'' {
			return Pos{}, false
		}
		s.next()
	case vi.style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		// The text starts on the line after the header (| or >, its
		// indicators and a comment).
		for s.i < len(s.src) && s.at() != '\n' {
			s.next()
		}
		s.next()
	}
	i := 0
	for _, r := range text {
		if !isSpace(r) || double && s.escapedBreak() {
			// White space escaped after an escaped line break
			// (`and\` then `\ total`) comes from the `\ ` on the next
			// line: the break gives nothing.
			s.skipBreaks(double)
		}
		if i == k {
			return s.pos, true
		}
		switch {
		case s.i >= len(s.src):
			return Pos{}, false
		case double && s.at() == '\\' && !s.breakAt(s.i+1):
			s.escape()
		case single && r == '\'' && bytes.HasPrefix(s.src[s.i:], []byte("''")):
			s.next()
			s.next()
		case r == '$' && bytes.HasPrefix(s.src[s.i:], []byte("$$")):
			s.next() // $$ in the file is one $ in the value (interpolate.go)
			s.next()
		case s.rune() == r:
			s.next()
		case !isSpace(r):
			return Pos{}, false
		case isSpace(rune(s.at())) || s.breakAt(s.i):
			s.next() // a line break folded into a space, or kept
		}
		i++
	}
	if i == k {
		return s.pos, true
	}
	return Pos{}, false
}

func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' }

// scalarScan walks the file's text from a scalar's position.
type scalarScan struct {
	src []byte
	i   int // byte offset of pos
	pos Pos
}

// seek sets i to pos, which is in characters; false when the file has no
// such place (a Config that was not parsed from source).
func (s *scalarScan) seek() bool {
	line, col := 1, 1
	for s.i < len(s.src) && (line < s.pos.Line || line == s.pos.Line && col < s.pos.Col) {
		if s.src[s.i] == '\n' {
			if line == s.pos.Line {
				return false
			}
			line, col = line+1, 1
			s.i++
			continue
		}
		_, n := utf8.DecodeRune(s.src[s.i:])
		s.i += n
		col++
	}
	return line == s.pos.Line && col == s.pos.Col && s.i < len(s.src)
}

func (s *scalarScan) at() byte {
	if s.i < len(s.src) {
		return s.src[s.i]
	}
	return 0
}

func (s *scalarScan) rune() rune {
	r, _ := utf8.DecodeRune(s.src[s.i:])
	return r
}

func (s *scalarScan) breakAt(i int) bool {
	return i < len(s.src) && (s.src[i] == '\n' || s.src[i] == '\r')
}

// next moves past one character.
func (s *scalarScan) next() {
	if s.i >= len(s.src) {
		return
	}
	if s.src[s.i] == '\n' {
		s.i++
		s.pos.Line, s.pos.Col = s.pos.Line+1, 1
		return
	}
	_, n := utf8.DecodeRune(s.src[s.i:])
	s.i += n
	s.pos.Col++
}

// skipBreaks moves past white space, line breaks and, in a double-quoted
// scalar, escaped line breaks: what stands between two characters of the
// text when it gives none of its own.
func (s *scalarScan) skipBreaks(double bool) {
	for s.i < len(s.src) {
		switch c := s.at(); {
		case c == ' ' || c == '\t' || s.breakAt(s.i):
			s.next()
		case double && s.escapedBreak():
			s.next()
		default:
			return
		}
	}
}

// escapedBreak reports whether a backslash ending its line stands at i: in
// a double-quoted scalar, a line break that gives nothing.
func (s *scalarScan) escapedBreak() bool {
	return s.at() == '\\' && s.breakAt(s.i+1)
}

// skipProperties moves past a node's anchor (&name) and tag (!name, !!str,
// !<uri>), with the white space, line breaks and comments after them, to
// the node's first character of content.
func (s *scalarScan) skipProperties() {
	for s.at() == '&' || s.at() == '!' {
		verbatim := bytes.HasPrefix(s.src[s.i:], []byte("!<"))
		for s.i < len(s.src) && !s.propertyEnd(verbatim) {
			s.next()
		}
		if verbatim {
			s.next() // the closing >
		}
		s.skipBlank()
	}
}

// propertyEnd reports whether an anchor or a tag ends before i: at white
// space, or at a flow indicator; a verbatim tag (!<...>) ends at its >.
func (s *scalarScan) propertyEnd(verbatim bool) bool {
	c := s.at()
	if verbatim {
		return c == '>'
	}
	return c == ' ' || c == '\t' || s.breakAt(s.i) || strings.IndexByte(",[]{}", c) >= 0
}

// skipBlank moves past white space, line breaks and comments.
func (s *scalarScan) skipBlank() {
	for s.i < len(s.src) {
		switch c := s.at(); {
		case c == ' ' || c == '\t' || s.breakAt(s.i):
			s.next()
		case c == '#':
			for s.i < len(s.src) && !s.breakAt(s.i) {
				s.next()
			}
		default:
			return
		}
	}
}

// escape moves past an escape of a double-quoted scalar: \x41, \u00e9,
// \U0001F600, or a backslash and one character.
func (s *scalarScan) escape() {
	n := 2
	switch s.src[min(s.i+1, len(s.src)-1)] {
	case 'x':
		n = 4
	case 'u':
		n = 6
	case 'U':
		n = 10
	}
	for range n {
		s.next()
	}
}

// Show renders the scalar *ptr, a field of c, for a message: quoted, or,
// when the environment supplied it, described by its template (a value
// from the environment is never shown).
func (c *Config) Show(ptr *string) string { return c.values[ptr].show(*ptr) }

// ShowList renders the list *ptr, a field of c, for a message as
// validation does (showList).
func (c *Config) ShowList(ptr *StringList) string { return showList(c.values[ptr], *ptr) }

// showList renders a list for a message: its items comma-separated, each
// as written, or described by its template where the environment
// supplied it.
func showList(vi *valueInfo, list StringList) string {
	parts := make([]string, len(list))
	for i, s := range list {
		switch {
		case vi != nil && i < len(vi.items) && vi.items[i].env:
			parts[i] = fromEnv(vi.items[i].raw)
		case vi != nil && vi.env:
			parts[i] = fromEnv(vi.raw)
		default:
			parts[i] = s
		}
	}
	return strings.Join(parts, ", ")
}

// ShowItem renders item i of the list *ptr as Show does.
func (c *Config) ShowItem(ptr *StringList, i int) string {
	if vi := c.values[ptr]; vi != nil && i < len(vi.items) {
		return vi.items[i].show((*ptr)[i])
	}
	if vi := c.values[ptr]; vi != nil && vi.env {
		return fromEnv(vi.raw)
	}
	return quote((*ptr)[i])
}

// FromEnv reports whether the environment supplied the scalar *ptr, a
// field of c: a message must not show its value.
func (c *Config) FromEnv(ptr any) bool {
	vi := c.values[ptr]
	return vi != nil && vi.env
}

// ShowAt renders value, written at p, for a message as Show does: quoted,
// or described by its template when the environment supplied the scalar
// at p (a column name the compiler holds as a copy, not by pointer).
func (c *Config) ShowAt(p Pos, value string) (shown string, fromEnv bool) {
	if vi := c.envAt[p]; vi != nil {
		return vi.show(value), true
	}
	return quote(value), false
}

// envByPos indexes the scalars and list items the environment supplied by
// their position, for ShowAt: the compiler asks once per problem, and a
// scan of every value each time would grow with the square of the file.
// Scalars at one place are one node (an alias's target, the items split
// from one string): they are described alike.
func envByPos(values map[any]*valueInfo) map[Pos]*valueInfo {
	at := map[Pos]*valueInfo{}
	for _, vi := range values {
		if vi.env {
			at[vi.pos] = vi
		}
		for i := range vi.items {
			if it := &vi.items[i]; it.env {
				at[it.pos] = it
			}
		}
	}
	return at
}
