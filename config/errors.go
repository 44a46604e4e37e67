package config

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// ErrInvalid matches (with errors.Is) the Errors returned by Load and Parse,
// so callers can tell a bad configuration from a file that cannot be read.
var ErrInvalid = errors.New("invalid configuration")

// ErrType is wrapped by ParseType's errors.
var ErrType = errors.New("invalid type")

// ErrKeyTemplate is wrapped by ParseKeyTemplate's errors.
var ErrKeyTemplate = errors.New("invalid key template")

// String returns "file:line:col", or "line:col" when the file is unnamed.
func (p Pos) String() string {
	if p.File == "" {
		return fmt.Sprintf("%d:%d", p.Line, p.Col)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// IsZero reports whether p was never set (no YAML node behind it).
func (p Pos) IsZero() bool { return p.Line == 0 && p.Col == 0 }

// Error is one problem at a place in a file.
type Error struct {
	Pos Pos
	Msg string
}

// Error returns "file:line:col: message".
func (e Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// Errors is every problem found in a configuration. Err returns them sorted
// by file, line and column.
type Errors []Error

// Add records a problem at p. Lines and columns below 1 are raised to 1 so
// that every error points somewhere an editor can jump to.
func (e *Errors) Add(p Pos, format string, args ...any) {
	p.Line = max(p.Line, 1)
	p.Col = max(p.Col, 1)
	*e = append(*e, Error{Pos: p, Msg: cutMessage(fmt.Sprintf(format, args...))})
}

// maxMessage bounds a problem's message: one quoting a value of the file
// whole (a 100 KB scalar an alias puts in 2,000 places) would otherwise
// cost the value's size per problem.
const maxMessage = 4 << 10

func cutMessage(msg string) string {
	if len(msg) <= maxMessage {
		return msg
	}
	cut := msg[:maxMessage]
	for !utf8.ValidString(cut) {
		cut = cut[:len(cut)-1]
	}
	return cut + fmt.Sprintf("… (%d bytes more)", len(msg)-len(cut))
}

// Err returns nil when there is no problem, else a sorted copy of e without
// exact duplicates (an anchor used twice reports its problems once).
func (e Errors) Err() error {
	if len(e) == 0 {
		return nil
	}
	s := slices.Clone(e)
	slices.SortStableFunc(s, func(a, b Error) int {
		return cmp.Or(
			cmp.Compare(a.Pos.File, b.Pos.File),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Col, b.Pos.Col),
		)
	})
	// Not only adjacent ones: an anchor with two problems at one place,
	// used twice, gives them in turn (X, Y, X, Y).
	seen := make(map[Error]bool, len(s))
	return slices.DeleteFunc(s, func(e Error) bool {
		dup := seen[e]
		seen[e] = true
		return dup
	})
}

// At reports whether there is a problem at p.
func (e Errors) At(p Pos) bool {
	for _, err := range e {
		if err.Pos == p {
			return true
		}
	}
	return false
}

// Error joins the problems with newlines, one "file:line:col: message" each.
func (e Errors) Error() string {
	lines := make([]string, len(e))
	for i, err := range e {
		lines[i] = err.Error()
	}
	return strings.Join(lines, "\n")
}

// Is makes errors.Is(err, ErrInvalid) true for every Errors value.
func (e Errors) Is(target error) bool { return target == ErrInvalid }
