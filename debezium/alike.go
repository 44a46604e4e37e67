package debezium

import (
	"reflect"
	"strings"
)

// DecodeAlike reports whether a column declared a and one declared b are
// decoded alike: every value becomes the same, byte for byte, under
// either. It asks the codecs a Decoder builds for them, so spellings of
// one type are alike (numeric(10) and numeric(10,0), timestamptz and
// timestamptz(6), time and time(6)), and so are types the decoder reads
// the same way (varchar(50), varchar and text; json and jsonb); a
// narrower or wider type that holds values to other bounds is not
// (integer and bigint, numeric(10,2) and numeric(12,2), timestamp(3) and
// timestamp). "" is a column not declared, read as its natural JSON:
// alike only to another. A type the decoder does not know is alike only
// to its own spelling.
func DecodeAlike(a, b string) bool {
	if a == "" || b == "" {
		return a == b
	}
	ca, knownA := decoding(a)
	cb, knownB := decoding(b)
	if !knownA || !knownB {
		return normType(a) == normType(b)
	}
	return isTextType(a) == isTextType(b) && reflect.DeepEqual(ca, cb)
}

// decoding is the codec NewDecoder gives a column declared typ, with the
// adaptive timestamp unit the engine decodes with, and whether the
// decoder knows the type.
func decoding(typ string) (*codec, bool) {
	base, args, _, err := parseSQLType(typ)
	if err != nil {
		return nil, false
	}
	if c, err := baseCodec(base, args, 0); err != nil || c == nil {
		return nil, false
	}
	c, err := columnCodec(typ, 0)
	return c, err == nil
}

func normType(typ string) string {
	return strings.Join(strings.Fields(strings.ToLower(typ)), "")
}
