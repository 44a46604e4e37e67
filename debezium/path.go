package debezium

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// path is the location of a value inside a record, kept as a chain of stack
// frames so that naming a field costs nothing unless an error is reported.
type path struct {
	parent *path
	name   string // a field name, or "" for an array element
	index  int
}

func (p *path) field(name string) path { return path{parent: p, name: name} }

func (p *path) elem(i int) path { return path{parent: p, index: i} }

func (p *path) String() string {
	// Collect the segments as strings, not pointers: holding *path in a heap
	// slice would make every path escape, and paths are built per field.
	var segs []string
	for q := p; q != nil; q = q.parent {
		if q.name == "" && q.parent != nil {
			segs = append(segs, "["+strconv.Itoa(q.index)+"]")
		} else {
			segs = append(segs, q.name)
		}
	}
	var b strings.Builder
	for i := len(segs) - 1; i >= 0; i-- {
		if b.Len() > 0 && segs[i][0] != '[' {
			b.WriteByte('.')
		}
		b.WriteString(segs[i])
	}
	return b.String()
}

// malformed builds the error for the value at p.
func malformed(p *path, format string, args ...any) error {
	return &MalformedError{Path: p.String(), Reason: fmt.Sprintf(format, args...)}
}

// bad reports a problem with the value being decoded; the callers that know
// where that value sits add the path on the way out (prefixErr, under), so
// that decoding builds no path at all while it succeeds.
func bad(format string, args ...any) error {
	return &MalformedError{Reason: fmt.Sprintf(format, args...)}
}

// maxQuoted bounds the part of a bad value an error quotes: a record of a
// megabyte whose one value is malformed must not make an error (and the
// dead letter's header carrying it) as large.
const maxQuoted = 60

// brief quotes a bad value (a string or bytes) for an error, cut to
// maxQuoted bytes at a character's start.
func brief[T ~string | ~[]byte](v T) string {
	s := string(v)
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + fmt.Sprintf("… (%d bytes)", len(s))
}

// prefixErr puts a relative error one level down: under a member name or
// an index segment such as "[3]".
func prefixErr(err error, seg string) error {
	var me *MalformedError
	if errors.As(err, &me) {
		me.Path = joinPath(seg, me.Path)
	}
	return err
}

// under puts a relative error under the absolute path p.
func under(err error, p *path) error {
	return prefixErr(err, p.String())
}

func joinPath(a, b string) string {
	switch {
	case b == "":
		return a
	case a == "":
		return b
	case b[0] == '[':
		return a + b
	}
	return a + "." + b
}

func indexSeg(i int) string { return "[" + strconv.Itoa(i) + "]" }
