package elasticsearch

import (
	"bytes"
	"fmt"

	"github.com/projectorhq/projector/sinks"
)

// Elasticsearch 8.8 and later parse every document with Jackson 2.15+ and
// relax only its limit on string length: Jackson's other default
// StreamReadConstraints stand. A document holding a number of more digits
// than maxNumberDigits, or nested deeper than maxNestingDepth, is refused
// whole (400 document_parsing_exception caused by
// stream_constraints_exception) whatever the mapping, inside an
// "enabled": false object too, which the parser still reads token by
// token to skip it.
const (
	// maxNumberDigits is StreamReadConstraints' default maxNumberLength.
	// Jackson counts the digits of a number token: of the integer part,
	// the fraction and the exponent, without sign, point or "e".
	maxNumberDigits = 1000
	// maxNestingDepth is its default maxNestingDepth: objects and arrays
	// open at once, the document's own object included.
	maxNestingDepth = 1000
)

// fitParser makes the source line that ends buf, from start (its newline
// included), one Elasticsearch's parser takes. The engine hands the sink
// numbers as json.Number with all their digits (a sum of numerics, a
// number inside a json/jsonb value): one over the limit is written as a
// JSON string of the same digits, which the keyword mapping of a decimal
// keeps as it keeps the others, whose number sub-field skips it
// (ignore_malformed), and which the reader gives back as a number for a
// numeric field (a json/jsonb value keeps it as a string). A source nested
// too deep cannot be helped: it is refused, before it is sent.
func fitParser(buf *bytes.Buffer, start int) error {
	src := buf.Bytes()[start : buf.Len()-1]
	if len(src) <= maxNumberDigits {
		return nil // no number that long, no nesting that deep
	}
	depth, long := scanSource(src)
	if depth > maxNestingDepth {
		return sinks.Refused(fmt.Errorf("%w: nested %d levels deep, more than Elasticsearch's parser takes (%d)", ErrInvalidDoc, depth, maxNestingDepth))
	}
	if len(long) == 0 {
		return nil
	}
	orig := bytes.Clone(src)
	buf.Truncate(start)
	last := 0
	for _, tok := range long {
		buf.Write(orig[last:tok.start])
		buf.WriteByte('"')
		buf.Write(orig[tok.start:tok.end])
		buf.WriteByte('"')
		last = tok.end
	}
	buf.Write(orig[last:])
	buf.WriteByte('\n')
	return nil
}

// span is the byte range of one token in a source.
type span struct{ start, end int }

// scanSource reads a JSON text as encoding/json writes it and returns the
// deepest nesting of its objects and arrays, and the number tokens with
// more digits than Elasticsearch's parser takes, in order.
func scanSource(src []byte) (maxDepth int, long []span) {
	depth := 0
	for i := 0; i < len(src); {
		switch c := src[i]; {
		case c == '"':
			i = stringEnd(src, i)
		case c == '{' || c == '[':
			depth++
			maxDepth = max(maxDepth, depth)
			i++
		case c == '}' || c == ']':
			depth--
			i++
		case c == '-' || c >= '0' && c <= '9':
			end, digits := numberEnd(src, i)
			if digits > maxNumberDigits {
				long = append(long, span{i, end})
			}
			i = end
		default:
			i++
		}
	}
	return maxDepth, long
}

// stringEnd returns the offset just past the string that opens at i.
func stringEnd(src []byte, i int) int {
	for j := i + 1; ; {
		k := bytes.IndexByte(src[j:], '"')
		if k < 0 {
			return len(src)
		}
		j += k
		escapes := 0
		for b := j - 1; b > i && src[b] == '\\'; b-- {
			escapes++
		}
		if escapes%2 == 0 {
			return j + 1
		}
		j++
	}
}

// numberEnd returns the offset just past the number token that starts at
// i, and how many digits it holds.
func numberEnd(src []byte, i int) (end, digits int) {
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
