package debezium

import (
	"bytes"
	"errors"
	"strconv"
	"sync/atomic"
	"unicode/utf16"
	"unicode/utf8"
)

// scanner reads JSON straight from the record bytes. It builds no generic
// tree: callers walk objects member by member and convert each value to its
// final Go type, which is what makes schema-enabled decoding fast. Every
// method validates what it consumes, so malformed JSON is always an error.
type scanner struct {
	data []byte
	pos  int
}

// maxDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxDepth = 512

var (
	errEOF        = errors.New("unexpected end of JSON input")
	errDepth      = errors.New("JSON nested too deeply")
	errBadLiteral = errors.New("invalid JSON literal")
	errBadNumber  = errors.New("invalid JSON number")
)

type syntaxError struct {
	msg string
	off int
}

func (e *syntaxError) Error() string {
	return e.msg + " at offset " + strconv.Itoa(e.off)
}

func (s *scanner) errAt(msg string) error { return &syntaxError{msg: msg, off: s.pos} }

func (s *scanner) ws() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// peek skips white space and returns the next byte, or 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.pos >= len(s.data) {
		return 0
	}
	return s.data[s.pos]
}

// end reports an error unless only white space remains.
func (s *scanner) end() error {
	s.ws()
	if s.pos != len(s.data) {
		return s.errAt("unexpected data after JSON value")
	}
	return nil
}

func (s *scanner) expect(c byte) error {
	if s.peek() != c {
		if s.pos >= len(s.data) {
			return errEOF
		}
		return s.errAt("expected '" + string(c) + "', found '" + string(s.data[s.pos]) + "'")
	}
	s.pos++
	return nil
}

// nextMember advances to the next member of an object whose '{' was
// consumed and returns its key; ok is false after the closing '}'. first
// tells whether no member was read yet. The key may alias the input.
func (s *scanner) nextMember(first bool) (key []byte, ok bool, err error) {
	c := s.peek()
	if c == '}' {
		s.pos++
		return nil, false, nil
	}
	if !first {
		if c != ',' {
			if c == 0 {
				return nil, false, errEOF
			}
			return nil, false, s.errAt("expected ',' or '}' in object")
		}
		s.pos++
		c = s.peek()
	}
	if c != '"' {
		if c == 0 {
			return nil, false, errEOF
		}
		return nil, false, s.errAt("expected a string key")
	}
	key, err = s.str()
	if err != nil {
		return nil, false, err
	}
	if err := s.expect(':'); err != nil {
		return nil, false, err
	}
	return key, true, nil
}

// nextElem advances to the next element of an array whose '[' was consumed;
// ok is false after the closing ']'.
func (s *scanner) nextElem(first bool) (ok bool, err error) {
	c := s.peek()
	if c == ']' {
		s.pos++
		return false, nil
	}
	if !first {
		if c != ',' {
			if c == 0 {
				return false, errEOF
			}
			return false, s.errAt("expected ',' or ']' in array")
		}
		s.pos++
		if s.peek() == 0 {
			return false, errEOF
		}
	} else if c == 0 {
		return false, errEOF
	}
	return true, nil
}

// str reads a string token (the opening quote is next) and returns its
// unescaped bytes. Without escapes the result aliases the input.
func (s *scanner) str() ([]byte, error) {
	if s.peek() != '"' {
		return nil, s.errAt("expected a string")
	}
	start := s.pos + 1
	ascii := true
	for i := start; i < len(s.data); i++ {
		c := s.data[i]
		switch {
		case c == '"':
			s.pos = i + 1
			if !ascii {
				return validText(s.data[start:i]), nil
			}
			return s.data[start:i], nil
		case c >= 0x80:
			ascii = false
		case c == '\\':
			return s.strSlow(start, i)
		case c < 0x20:
			s.pos = i
			return nil, s.errAt("control character in string")
		}
	}
	s.pos = len(s.data)
	return nil, errEOF
}

func (s *scanner) strSlow(start, i int) ([]byte, error) {
	out := make([]byte, i-start, i-start+16)
	copy(out, s.data[start:i])
	for i < len(s.data) {
		c := s.data[i]
		switch {
		case c == '"':
			s.pos = i + 1
			return validText(out), nil
		case c < 0x20:
			s.pos = i
			return nil, s.errAt("control character in string")
		case c != '\\':
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(s.data) {
			s.pos = len(s.data)
			return nil, errEOF
		}
		switch e := s.data[i+1]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(s.data, i+2)
			if !ok {
				s.pos = i
				return nil, s.errAt("invalid \\u escape")
			}
			i += 6
			if utf16.IsSurrogate(r) {
				if r2, ok := hex4(s.data, i+2); ok && i+1 < len(s.data) && s.data[i] == '\\' && s.data[i+1] == 'u' {
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						i += 6
						out = utf8.AppendRune(out, dec)
						continue
					}
				}
				r = utf8.RuneError
			}
			if r == 0 {
				r = utf8.RuneError // see validText
			}
			out = utf8.AppendRune(out, r)
			continue
		default:
			s.pos = i
			return nil, s.errAt("invalid escape in string")
		}
		i += 2
	}
	s.pos = len(s.data)
	return nil, errEOF
}

// validText replaces invalid UTF-8 with U+FFFD, as encoding/json does, so
// that a decoded string survives a JSON round trip unchanged; and NUL too,
// which no PostgreSQL text or jsonb value can hold (MongoDB and Avro
// strings can): kept, it would fail the state write of its batch forever.
func validText(b []byte) []byte {
	if !utf8.Valid(b) {
		b = bytes.ToValidUTF8(b, []byte("\uFFFD"))
	}
	if bytes.IndexByte(b, 0) >= 0 {
		b = bytes.ReplaceAll(b, []byte{0}, []byte("\uFFFD"))
	}
	return b
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// number reads a number token and returns its text; isInt is false when it
// has a fraction or an exponent.
func (s *scanner) number() (lit []byte, isInt bool, err error) {
	s.ws()
	start, i, n := s.pos, s.pos, len(s.data)
	isInt = true
	if i < n && s.data[i] == '-' {
		i++
	}
	switch {
	case i < n && s.data[i] == '0':
		i++
	case i < n && s.data[i] >= '1' && s.data[i] <= '9':
		for i < n && s.data[i] >= '0' && s.data[i] <= '9' {
			i++
		}
	default:
		return nil, false, s.errAt(errBadNumber.Error())
	}
	if i < n && s.data[i] == '.' {
		isInt = false
		i++
		d := i
		for i < n && s.data[i] >= '0' && s.data[i] <= '9' {
			i++
		}
		if i == d {
			s.pos = i
			return nil, false, s.errAt(errBadNumber.Error())
		}
	}
	if i < n && (s.data[i] == 'e' || s.data[i] == 'E') {
		isInt = false
		i++
		if i < n && (s.data[i] == '+' || s.data[i] == '-') {
			i++
		}
		d := i
		for i < n && s.data[i] >= '0' && s.data[i] <= '9' {
			i++
		}
		if i == d {
			s.pos = i
			return nil, false, s.errAt(errBadNumber.Error())
		}
	}
	s.pos = i
	return s.data[start:i], isInt, nil
}

// literal consumes true, false or null.
func (s *scanner) literal(word string) error {
	s.ws()
	if len(s.data)-s.pos < len(word) || string(s.data[s.pos:s.pos+len(word)]) != word {
		return s.errAt(errBadLiteral.Error())
	}
	s.pos += len(word)
	return nil
}

// null consumes a null token if one is next.
func (s *scanner) null() bool {
	if s.peek() == 'n' && s.literal("null") == nil {
		return true
	}
	return false
}

// skip consumes one value, validating it.
func (s *scanner) skip(depth int) error {
	if depth > maxDepth {
		return errDepth
	}
	switch c := s.peek(); c {
	case '{':
		s.pos++
		for first := true; ; first = false {
			_, ok, err := s.nextMember(first)
			if err != nil {
				return err
			}
			if !ok {
				return nil
			}
			if err := s.skip(depth + 1); err != nil {
				return err
			}
		}
	case '[':
		s.pos++
		for first := true; ; first = false {
			ok, err := s.nextElem(first)
			if err != nil {
				return err
			}
			if !ok {
				return nil
			}
			if err := s.skip(depth + 1); err != nil {
				return err
			}
		}
	case '"':
		_, err := s.str()
		return err
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	case 0:
		return errEOF
	default:
		_, _, err := s.number()
		return err
	}
}

// span consumes one value and returns its bytes.
func (s *scanner) span(depth int) ([]byte, error) {
	s.ws()
	start := s.pos
	if err := s.skip(depth); err != nil {
		return nil, err
	}
	return s.data[start:s.pos], nil
}

// skimContainer finds the end of the object or array that starts at s.pos by
// matching brackets outside strings, without validating the rest. It is only
// used on a schema, whose bytes are either identical to an already validated
// schema or fully parsed right after.
func (s *scanner) skimContainer() ([]byte, error) {
	s.ws()
	start := s.pos
	depth := 0
	d := s.data
	for i := start; i < len(d); i++ {
		switch d[i] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				s.pos = i + 1
				return d[start:s.pos], nil
			}
		case '"':
			for i++; ; i++ {
				if i >= len(d) {
					return nil, errEOF
				}
				if d[i] == '\\' {
					i++
					continue
				}
				if d[i] == '"' {
					break
				}
			}
		}
		if depth == 0 {
			return nil, s.errAt("expected an object")
		}
	}
	return nil, errEOF
}

// parseInt converts an integer literal without going through float64.
func parseInt(lit []byte) (int64, bool) {
	if len(lit) == 0 || len(lit) > 20 {
		return 0, false
	}
	neg := lit[0] == '-'
	digits := lit
	if neg {
		digits = lit[1:]
		if len(digits) == 0 {
			return 0, false
		}
	}
	var u uint64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		if u > (1<<64-1)/10 {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
		if u > 1<<63 {
			return 0, false
		}
	}
	if neg {
		return -int64(u), true // -(1<<63) wraps to itself, which is MinInt64
	}
	if u == 1<<63 {
		return 0, false
	}
	return int64(u), true
}

// interner shares the strings that repeat from record to record (source
// connector, database, table, snapshot marker): a fixed, lock-free table
// indexed by a hash, where a collision only costs an allocation. Each
// Decoder has its own, so the package keeps no mutable globals.
type interner [512]atomic.Pointer[string]

func (t *interner) intern(b []byte) string {
	if t == nil || len(b) == 0 || len(b) > 64 {
		return string(b)
	}
	h := uint32(2166136261)
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	slot := &t[h%uint32(len(t))]
	if p := slot.Load(); p != nil && *p == string(b) {
		return *p
	}
	s := string(b)
	slot.Store(&s)
	return s
}
