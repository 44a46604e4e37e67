package config

import (
	"bytes"
	"unicode/utf8"
)

// readerErrors are the messages of libyaml's reader, which decodes the
// file's characters before anything is scanned. yaml.v3 gives them no
// line, so readerErrorAt finds the character in the file. The UTF-16
// ones are left out: such a file is not read here as bytes of text.
var readerErrors = []string{
	"invalid leading UTF-8 octet",
	"incomplete UTF-8 octet sequence",
	"invalid trailing UTF-8 octet",
	"invalid length of a UTF-8 sequence",
	"invalid Unicode character",
	"control characters are not allowed",
}

// readerErrorAt finds the first character of data that libyaml's reader
// refuses: bytes that are no UTF-8 (a sequence's first byte), or a
// character YAML does not allow (a control character). The reader stops
// at the first, so that is the one its error is about.
func readerErrorAt(data []byte) (line, col int, ok bool) {
	if bytes.HasPrefix(data, []byte{0xFF, 0xFE}) || bytes.HasPrefix(data, []byte{0xFE, 0xFF}) {
		return 0, 0, false // UTF-16, not UTF-8
	}
	for at := 0; at < len(data); {
		r, n := utf8.DecodeRune(data[at:])
		if r == utf8.RuneError && n == 1 || !yamlAllowed(r) {
			line, col = lineCol(data, at)
			return line, col, true
		}
		at += n
	}
	return 0, 0, false
}

// yamlAllowed is YAML's set of printable characters, as libyaml's reader
// checks it.
func yamlAllowed(r rune) bool {
	switch {
	case r == '\t', r == '\n', r == '\r', r == 0x85:
		return true
	case r >= 0x20 && r <= 0x7E, r >= 0xA0 && r <= 0xD7FF:
		return true
	case r >= 0xE000 && r <= 0xFFFD, r >= 0x10000 && r <= utf8.MaxRune:
		return true
	}
	return false
}

// lineCol is the one-based line and column of the byte offset at in data,
// the column counted in characters as yaml.v3 counts a node's. Bytes that
// are no UTF-8 before at on its line count one each.
func lineCol(data []byte, at int) (line, col int) {
	start := bytes.LastIndexByte(data[:at], '\n') + 1
	line = bytes.Count(data[:start], []byte("\n")) + 1
	return line, utf8.RuneCount(data[start:at]) + 1
}
