package projtest

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"gopkg.in/yaml.v3"
)

// parser reads a test file, gathering its problems (report) so that one
// run tells them all.
type parser struct {
	path     string
	problems []error
	drafts   bool // a case may expect nothing yet (see ParseDrafts)
}

// report keeps err, if any, among the file's problems.
func (p *parser) report(err error) {
	if err != nil {
		p.problems = append(p.problems, err)
	}
}

func (p *parser) errf(n *yaml.Node, format string, args ...any) error {
	if n.Column > 0 {
		return problem{n.Line, n.Column, fmt.Errorf("%w: %s:%d:%d: %s", ErrMalformed, p.path, n.Line, n.Column, fmt.Sprintf(format, args...))}
	}
	return problem{n.Line, 0, fmt.Errorf("%w: %s:%d: %s", ErrMalformed, p.path, n.Line, fmt.Sprintf(format, args...))}
}

// problem is an error at a place in the file, by which Parse sorts them.
type problem struct {
	line, col int
	error
}

func (p problem) Unwrap() error { return p.error }

// inOrder sorts problems as they stand in the file.
func inOrder(problems []error) []error {
	at := func(err error) (int, int) {
		var p problem
		if errors.As(err, &p) {
			return p.line, p.col
		}
		return 0, 0
	}
	slices.SortStableFunc(problems, func(a, b error) int {
		la, ca := at(a)
		lb, cb := at(b)
		return cmp.Or(cmp.Compare(la, lb), cmp.Compare(ca, cb))
	})
	return problems
}
