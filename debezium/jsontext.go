package debezium

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// jsonText gives the text of a Json column as a value, with the escapes
// PostgreSQL's jsonb refuses replaced by U+FFFD: \u0000 (a string there
// cannot hold NUL) and a surrogate escape without its other half. Strings
// of other columns get the same replacement when they are decoded; a Json
// column's text is kept as it came, so it needs its own pass, or its row
// would be refused by the state on every retry.
func jsonText(b []byte) json.RawMessage {
	if !bytes.Contains(b, []byte(`\u`)) && !bytes.Contains(b, []byte(`\U`)) {
		return json.RawMessage(bytes.Clone(b))
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' || i+1 >= len(b) {
			out = append(out, b[i])
			continue
		}
		if b[i+1] != 'u' || i+6 > len(b) {
			out = append(out, b[i], b[i+1]) // another escape, \\ included
			i++
			continue
		}
		r, err := strconv.ParseUint(string(b[i+2:i+6]), 16, 32)
		switch {
		case err != nil:
			out = append(out, b[i:i+6]...)
		case r == 0, r >= 0xDC00 && r <= 0xDFFF:
			out = append(out, `\ufffd`...)
		case r >= 0xD800 && r <= 0xDBFF:
			if lowSurrogateAt(b, i+6) {
				out = append(out, b[i:i+12]...)
				i += 6
			} else {
				out = append(out, `\ufffd`...)
			}
		default:
			out = append(out, b[i:i+6]...)
		}
		i += 5
	}
	return out
}

// lowSurrogateAt says whether b holds a \uDC00–\uDFFF escape at i.
func lowSurrogateAt(b []byte, i int) bool {
	if i+6 > len(b) || b[i] != '\\' || b[i+1] != 'u' {
		return false
	}
	r, err := strconv.ParseUint(string(b[i+2:i+6]), 16, 32)
	return err == nil && r >= 0xDC00 && r <= 0xDFFF
}
