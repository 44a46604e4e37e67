package debezium

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
)

// Placeholder is the value Debezium writes for an unchanged TOASTed column
// (unavailable.value.placeholder). It never reaches Before or After.
const Placeholder = "__debezium_unavailable_value"

// dec is the state of one JSON decode: the scanner over the bytes.
type dec struct {
	s       scanner
	strings *interner // the Decoder's, for source names; nil: no sharing
}

func tokenName(c byte) string {
	switch c {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	case 0:
		return "the end of input"
	}
	return "a number"
}

// value reads one value and converts it with c (nil: natural JSON). Its
// errors are relative to the value: callers add where it sits (prefixErr).
func (d *dec) value(c *codec, depth int) (any, error) {
	if depth > maxDepth {
		return nil, bad("%v", errDepth)
	}
	tok := d.s.peek()
	if tok == 'n' {
		if err := d.s.literal("null"); err != nil {
			return nil, bad("%v", err)
		}
		return nil, nil
	}
	if tok == 0 {
		return nil, bad("%v", errEOF)
	}
	if c == nil || c.kind == kNatural {
		return d.natural(depth)
	}
	if c.bad != "" {
		return nil, bad("%s", c.bad)
	}
	switch c.kind {
	case kInt:
		if c.text && (tok == '"' || tok == '{') {
			return d.decimalInt(c, tok)
		}
		if tok != '-' && (tok < '0' || tok > '9') {
			return nil, d.unexpected("an integer", tok)
		}
		lit, isInt, err := d.s.number()
		if err != nil {
			return nil, bad("%v", err)
		}
		v, err := intFromLiteral(lit, isInt)
		if err != nil || c.bits == 0 {
			return v, err
		}
		return c.fitInt(v)
	case kFloat:
		switch {
		case tok == '"':
			b, err := d.str()
			if err != nil {
				return nil, err
			}
			return nonFinite(b)
		case tok == '-' || (tok >= '0' && tok <= '9'):
			lit, _, err := d.s.number()
			if err != nil {
				return nil, bad("%v", err)
			}
			return c.floatLiteral(lit)
		}
		return nil, d.unexpected("a number", tok)
	case kBool:
		switch tok {
		case 't':
			return true, d.lit("true")
		case 'f':
			return false, d.lit("false")
		}
		return nil, d.unexpected("a boolean", tok)
	case kString:
		if tok != '"' {
			return nil, d.unexpected("a string", tok)
		}
		b, err := d.str()
		return string(b), err
	case kBytes:
		if tok != '"' {
			return nil, d.unexpected("a base64 string", tok)
		}
		b, err := d.str()
		if err != nil {
			return nil, err
		}
		return decodeBase64(b)
	case kDecimal, kVarDecimal:
		return d.decimal(c, tok)
	case kDate, kTime, kTimestamp, kZonedTimestamp, kZonedTime, kInterval:
		return d.temporal(c, tok)
	case kUUID:
		if tok != '"' {
			return nil, d.unexpected("a UUID string", tok)
		}
		b, err := d.str()
		if err != nil {
			return nil, err
		}
		return canonicalUUID(b)
	case kJSON:
		return d.json(tok, depth)
	case kEnumSet:
		return d.enumSet(tok, depth)
	case kStruct:
		if tok != '{' {
			return nil, d.unexpected("an object", tok)
		}
		return d.object(c, depth, nil)
	case kArray:
		if tok != '[' {
			return nil, d.unexpected("an array", tok)
		}
		return d.array(c.elem, depth)
	case kMap:
		return d.mapValue(c.elem, tok, depth)
	}
	return d.natural(depth)
}

// decimalInt reads a numeric's value in an integer column (a numeric
// column declared bigint) in the forms other than a number: its text
// (decimal.handling.mode=string) or a VariableScaleDecimal {scale, value},
// which carries its own scale. Either is held to the column as a Connect
// Decimal is (see declaredInt): "12.00" reads 12, "12.50" is malformed.
func (d *dec) decimalInt(c *codec, tok byte) (any, error) {
	if tok == '{' {
		v, err := d.varDecimal()
		if err != nil {
			return nil, err
		}
		return declaredInt(c, v)
	}
	b, err := d.str()
	if err != nil {
		return nil, err
	}
	return declaredIntText(c, b)
}

func (d *dec) unexpected(want string, tok byte) error {
	return bad("expected %s, found %s", want, tokenName(tok))
}

func (d *dec) str() ([]byte, error) {
	b, err := d.s.str()
	if err != nil {
		return nil, bad("%v", err)
	}
	return b, nil
}

func (d *dec) lit(word string) error {
	if err := d.s.literal(word); err != nil {
		return bad("%v", err)
	}
	return nil
}

// natural reads a value without type information: objects, arrays, strings,
// booleans, int64 for integers (decimal.Decimal beyond int64, so that no
// digit is lost) and float64 for other numbers.
func (d *dec) natural(depth int) (any, error) {
	if depth > maxDepth {
		return nil, bad("%v", errDepth)
	}
	switch tok := d.s.peek(); tok {
	case '{':
		d.s.pos++
		m := map[string]any{}
		for first := true; ; first = false {
			k, ok, err := d.s.nextMember(first)
			if err != nil {
				return nil, bad("%v", err)
			}
			if !ok {
				return m, nil
			}
			name := string(k)
			v, err := d.natural(depth + 1)
			if err != nil {
				return nil, prefixErr(err, name)
			}
			m[name] = v
		}
	case '[':
		return d.array(nil, depth)
	case '"':
		b, err := d.str()
		return string(b), err
	case 't':
		return true, d.lit("true")
	case 'f':
		return false, d.lit("false")
	case 'n':
		return nil, d.lit("null")
	case 0:
		return nil, bad("%v", errEOF)
	default:
		lit, isInt, err := d.s.number()
		if err != nil {
			return nil, bad("%v", err)
		}
		return naturalNumber(lit, isInt)
	}
}

func naturalNumber(lit []byte, isInt bool) (any, error) {
	if isInt {
		if v, ok := parseInt(lit); ok {
			return v, nil
		}
		// Beyond int64: keep every digit.
		if len(lit) > maxDecimalDigits {
			return nil, bad("number of %d digits is too long", len(lit))
		}
		v, err := decimal.NewFromString(string(lit))
		if err != nil {
			return nil, bad("number %s: %v", lit, err)
		}
		return v, nil
	}
	return floatFromLiteral(lit)
}

func (d *dec) array(elem *codec, depth int) ([]any, error) {
	if depth > maxDepth {
		return nil, bad("%v", errDepth)
	}
	if err := d.s.expect('['); err != nil {
		return nil, bad("%v", err)
	}
	out := []any{}
	for i := 0; ; i++ {
		ok, err := d.s.nextElem(i == 0)
		if err != nil {
			return nil, bad("%v", err)
		}
		if !ok {
			return out, nil
		}
		v, err := d.value(elem, depth+1)
		if err != nil {
			return nil, prefixErr(err, indexSeg(i))
		}
		out = append(out, v)
	}
}

// object reads a struct. For a top-level row (c.row) a member holding the
// TOAST placeholder is left out and its name appended to unchanged.
func (d *dec) object(c *codec, depth int, unchanged *[]string) (map[string]any, error) {
	if depth > maxDepth {
		return nil, bad("%v", errDepth)
	}
	if err := d.s.expect('{'); err != nil {
		return nil, bad("%v", err)
	}
	m := make(map[string]any, len(c.fields))
	guess := 0
	for first := true; ; first = false {
		k, ok, err := d.s.nextMember(first)
		if err != nil {
			return nil, bad("%v", err)
		}
		if !ok {
			return m, nil
		}
		fc, name, next := c.member(k, guess)
		guess = next
		if c.row && d.placeholderNext() {
			if err := d.s.skip(depth + 1); err != nil {
				return nil, prefixErr(bad("%v", err), name)
			}
			delete(m, name)
			if unchanged != nil {
				*unchanged = append(*unchanged, name)
			}
			continue
		}
		v, err := d.value(fc, depth+1)
		if err != nil {
			return nil, prefixErr(err, name)
		}
		if c.row && isPlaceholderValue(v) {
			if unchanged != nil {
				*unchanged = append(*unchanged, name)
			}
			continue
		}
		m[name] = v
	}
}

// member returns the codec and the name of a struct member; the name is the
// schema's own string when there is one, which saves an allocation.
func (c *codec) member(k []byte, guess int) (*codec, string, int) {
	if guess < len(c.fields) && c.fields[guess].name == string(k) {
		return c.fields[guess].c, c.fields[guess].name, guess + 1
	}
	for i := range c.fields {
		if c.fields[i].name == string(k) {
			return c.fields[i].c, c.fields[i].name, i + 1
		}
	}
	if h, ok := c.hints[string(k)]; ok {
		return h, string(k), guess
	}
	return nil, string(k), guess
}

var (
	placeholderToken = []byte(`"` + Placeholder + `"`)
	placeholderBytes = []byte(Placeholder)
	// placeholderTexts are the placeholder's bytes as a bytea column
	// writes them when nothing reads the column as bytes (schemaless
	// JSON, binary.handling.mode base64, base64-url-safe or hex, Avro's
	// string): a string that is the placeholder itself whatever the
	// source declares.
	placeholderTexts = []string{
		base64.StdEncoding.EncodeToString(placeholderBytes),
		base64.RawStdEncoding.EncodeToString(placeholderBytes),
		hex.EncodeToString(placeholderBytes),
		strings.ToUpper(hex.EncodeToString(placeholderBytes)),
	}
	placeholderTokens = func() [][]byte {
		out := [][]byte{placeholderToken}
		for _, t := range placeholderTexts {
			out = append(out, []byte(`"`+t+`"`))
		}
		return out
	}()
)

// placeholderAt reports whether data starts with the placeholder as a JSON
// string, in any of its forms, and how long that string is.
func placeholderAt(data []byte) (int, bool) {
	for _, t := range placeholderTokens {
		if bytes.HasPrefix(data, t) {
			return len(t), true
		}
	}
	return 0, false
}

// isPlaceholderText reports whether s is the placeholder in one of its
// forms.
func isPlaceholderText(s string) bool {
	return s == Placeholder || slices.Contains(placeholderTexts, s)
}

// placeholderNext reports whether the next value is the TOAST placeholder:
// the string, an array holding only it, or an object keyed by it. It does
// not consume anything.
func (d *dec) placeholderNext() bool {
	save := d.s.pos
	defer func() { d.s.pos = save }()
	switch d.s.peek() {
	case '"':
		_, ok := placeholderAt(d.s.data[d.s.pos:])
		return ok
	case '[':
		d.s.pos++
		if ok, err := d.s.nextElem(true); !ok || err != nil || d.s.peek() != '"' {
			return false
		}
		n, ok := placeholderAt(d.s.data[d.s.pos:])
		if !ok {
			return false
		}
		d.s.pos += n
		return d.s.peek() == ']'
	case '{':
		d.s.pos++
		k, ok, err := d.s.nextMember(true)
		return ok && err == nil && string(k) == Placeholder
	}
	return false
}

// placeholderUUID is the placeholder of a uuid[] column (DBZ-6720): Java's
// UUID.nameUUIDFromBytes of the placeholder's bytes.
const placeholderUUID = "b68a35a7-17ad-35b3-af2a-ae46edb4545a"

// isPlaceholderValue catches the placeholder in converted forms: the
// base64 bytes of a bytea column, and the forms the connector gives arrays
// (UnchangedToastedPlaceholder): a text[] holding the string, a bytea[]
// its bytes, a uuid[] placeholderUUID, and an int[] or bigint[] one
// number per byte of it (DBZ-5936).
func isPlaceholderValue(v any) bool {
	switch v := v.(type) {
	case string:
		return isPlaceholderText(v)
	case []byte:
		return bytes.Equal(v, placeholderBytes)
	case []any:
		switch len(v) {
		case 1:
			switch e := v[0].(type) {
			case string:
				return isPlaceholderText(e) || e == placeholderUUID
			case []byte:
				return bytes.Equal(e, placeholderBytes)
			}
		case len(placeholderBytes):
			for i, e := range v {
				if n, ok := integer(e); !ok || n != int64(placeholderBytes[i]) {
					return false
				}
			}
			return true
		}
	case map[string]any:
		_, ok := v[Placeholder]
		return ok
	}
	return false
}

// integer is the value of an integer element of a decoded array.
func integer(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int32:
		return int64(n), true
	case int:
		return int64(n), true
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	case float64:
		return int64(n), n == math.Trunc(n)
	}
	return 0, false
}

func (d *dec) mapValue(elem *codec, tok byte, depth int) (any, error) {
	switch tok {
	case '{':
		d.s.pos++
		m := map[string]any{}
		for first := true; ; first = false {
			k, ok, err := d.s.nextMember(first)
			if err != nil {
				return nil, bad("%v", err)
			}
			if !ok {
				return m, nil
			}
			name := string(k)
			v, err := d.value(elem, depth+1)
			if err != nil {
				return nil, prefixErr(err, name)
			}
			m[name] = v
		}
	case '[':
		// JsonConverter writes a map with non-string keys as [[k, v], ...].
		pairs, err := d.array(nil, depth)
		if err != nil {
			return nil, err
		}
		m := make(map[string]any, len(pairs))
		for i, e := range pairs {
			kv, ok := e.([]any)
			if !ok || len(kv) != 2 {
				return nil, prefixErr(bad("map entry is not a [key, value] pair"), indexSeg(i))
			}
			m[keyString(kv[0])] = kv[1]
		}
		return m, nil
	}
	return nil, d.unexpected("an object", tok)
}

func keyString(k any) string {
	switch k := k.(type) {
	case string:
		return k
	case int64:
		return strconv.FormatInt(k, 10)
	}
	b, _ := json.Marshal(k)
	return string(b)
}

func (d *dec) json(tok byte, depth int) (any, error) {
	switch tok {
	case '"':
		b, err := d.str()
		if err != nil {
			return nil, err
		}
		if !json.Valid(b) {
			return nil, bad("Json column does not hold valid JSON")
		}
		return jsonText(b)
	case '{', '[':
		raw, err := d.s.span(depth)
		if err != nil {
			return nil, bad("%v", err)
		}
		return jsonText(raw)
	}
	return nil, d.unexpected("a JSON string", tok)
}

func (d *dec) enumSet(tok byte, depth int) (any, error) {
	switch tok {
	case '"':
		b, err := d.str()
		if err != nil {
			return nil, err
		}
		return enumSetFromString(string(b)), nil
	case '[':
		return d.array(&codec{kind: kString}, depth)
	}
	return nil, d.unexpected("a string", tok)
}

// enumSetFromString splits io.debezium.data.EnumSet's "a,b".
func enumSetFromString(s string) []any {
	out := []any{}
	if s == "" {
		return out
	}
	for _, part := range strings.Split(s, ",") {
		out = append(out, part)
	}
	return out
}
