package config

import "gopkg.in/yaml.v3"

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

// ItemPos returns where item i of the list *ptr, a field of c, was written,
// or fallback.
func (c *Config) ItemPos(ptr *StringList, i int, fallback Pos) Pos {
	if vi := c.values[ptr]; vi != nil && i < len(vi.items) {
		return vi.items[i].pos
	}
	return c.ValuePos(ptr, fallback)
}

// TextPos returns where the character at line:col (1-based) of the text of
// the scalar *ptr stands in the file, for an error inside an expression.
// In a plain or quoted scalar the text starts at the value (after the
// quote); a block scalar (| or >) starts on the next line, indented by an
// amount the parser does not report, so there the column is the block
// indicator's. A value from the environment, whose text was not written in
// the file, gives the value's own position.
func (c *Config) TextPos(ptr *string, line, col int, fallback Pos) Pos {
	vi := c.values[ptr]
	if vi == nil {
		return fallback
	}
	p := vi.pos
	switch {
	case vi.env || line < 1 || col < 1:
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
