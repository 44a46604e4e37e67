package esfake

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Elasticsearch 8.8 and later parse documents with Jackson 2.15 or later
// and relax only its limit on string length
// (XContentImplUtils.configure): Jackson's other default
// StreamReadConstraints stand, and its tokenizer enforces them on every
// token it reads, whatever the mapping — inside an "enabled": false
// object too, which DocumentParser skips token by token.
const (
	// maxNumberLength is StreamReadConstraints.DEFAULT_MAX_NUM_LEN. Jackson
	// counts a number's digits (ParserBase.resetInt, resetFloat: integer
	// part, fraction and exponent), not its sign, point or "e".
	maxNumberLength = 1000
	// maxNestingDepth is StreamReadConstraints.DEFAULT_MAX_DEPTH: objects
	// and arrays open at once, the document's own object counting one.
	maxNestingDepth = 1000
)

// parserConstraints returns how Elasticsearch refuses a source that breaks
// the parser's constraints, or nil. Jackson stops at the first token over
// a limit; the exception is not a JsonParseException, so DocumentParser
// wraps it as "failed to parse" at the parser's token location, the
// offending token's start, with the StreamConstraintsException as cause.
// The messages are those of Jackson 2.16 and later (Elasticsearch 8.16
// and later); Jackson 2.15 (Elasticsearch 8.8 to 8.15) words them "Number
// length (N) exceeds the maximum length (1000)" and "Depth (N) exceeds
// the maximum allowed nesting depth (1000)".
//
// A source that is not valid JSON is left to the decoder's own error, as
// a syntax error is what Elasticsearch reports when it comes first.
func parserConstraints(source []byte) *esError {
	if len(source) <= maxNumberLength || !json.Valid(source) {
		return nil
	}
	at, msg := firstBreach(source)
	if msg == "" {
		return nil
	}
	line := 1 + bytes.Count(source[:at], []byte("\n"))
	col := at - bytes.LastIndexByte(source[:at], '\n')
	return &esError{
		Type:   "document_parsing_exception",
		Reason: fmt.Sprintf("[%d:%d] failed to parse: %s", line, col, msg),
		Cause:  &esError{Type: "stream_constraints_exception", Reason: msg},
	}
}

// firstBreach returns the offset of the first token of a valid JSON text
// that breaks a constraint and Jackson's message for it; msg is "" when
// none does.
func firstBreach(src []byte) (at int, msg string) {
	depth := 0
	for i := 0; i < len(src); {
		switch c := src[i]; {
		case c == '"':
			i = skipString(src, i)
		case c == '{' || c == '[':
			depth++
			if depth > maxNestingDepth {
				return i, fmt.Sprintf("Document nesting depth (%d) exceeds the maximum allowed (%d, from `StreamReadConstraints.getMaxNestingDepth()`)", depth, maxNestingDepth)
			}
			i++
		case c == '}' || c == ']':
			depth--
			i++
		case c == '-' || c >= '0' && c <= '9':
			end, digits := skipNumber(src, i)
			if digits > maxNumberLength {
				return i, fmt.Sprintf("Number value length (%d) exceeds the maximum allowed (%d, from `StreamReadConstraints.getMaxNumberLength()`)", digits, maxNumberLength)
			}
			i = end
		default:
			i++
		}
	}
	return 0, ""
}

// skipString returns the offset just past the string that opens at i.
func skipString(src []byte, i int) int {
	for j := i + 1; j < len(src); j++ {
		switch src[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(src)
}

// skipNumber returns the offset just past the number that starts at i and
// how many digits it holds.
func skipNumber(src []byte, i int) (end, digits int) {
	for end = i; end < len(src); end++ {
		switch c := src[end]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E':
		default:
			return end, digits
		}
	}
	return end, digits
}
