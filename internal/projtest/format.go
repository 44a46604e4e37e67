// Package projtest runs projection test cases: YAML files that give change
// records and expect view documents, run against an in-memory engine.
//
//	config: ../projector.yaml      # relative to the test file
//	cases:
//	  - name: a paid order
//	    now: 2024-06-01T00:00:00Z     # what now() gives; default: the wall clock
//	    given:
//	      - { source: orders, op: c, after: { id: 1, user_id: u1, status: paid } }
//	      - { topic: shop.public.orders, key: {...}, value: {...} }  # a raw Debezium record
//	      - now: 2024-07-01T00:00:00Z  # the clock moves; views with a refresh are refreshed
//	    expect:
//	      order_view:
//	        "1": { status: paid, customer: { name: Ada } }  # a subset of the doc's fields
//	    absent:
//	      order_view: ["2"]
//
// The given records apply in the order written (see positions); anchors,
// aliases and merge keys (<<: *row) are plain YAML; the config is read
// offline (config.Options), its connection settings unchecked.
package projtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/debezium"
	"gopkg.in/yaml.v3"
)

// ErrMalformed marks a test file that cannot be run.
var ErrMalformed = errors.New("malformed test file")

// File is a parsed test file.
type File struct {
	Path     string
	Config   string     // the config's path, resolved against the file's directory
	ConfigAt *yaml.Node // its value, where a config that cannot be read is reported
	Cases    []*Case
}

// Case is one test case.
type Case struct {
	Name   string
	Line   int
	Now    *time.Time // the clock now() reads at the start; nil: the wall clock
	Given  []*Given
	Expect []*Expect
	Absent []*Absent
}

// Given is one change record: raw (Topic set) or short (Source set).
type Given struct {
	Line int
	At   *yaml.Node // its topic's or source's value, where a wrong name is
	// A raw record: Key and Value are its JSON (Value nil: a tombstone).
	Topic      string
	Key, Value []byte
	Headers    []debezium.Header // in the order written
	// A short record.
	Source            string
	Op                string
	Before, After     map[string]any
	BeforeAt, AfterAt *yaml.Node // their mappings, where an unknown column is
	// A clock step: now() reads Now from here on, and the views that
	// declare a refresh are refreshed, as the daemon would by then.
	Now *time.Time
}

// Expect is a document a view must hold, as a subset of its fields.
type Expect struct {
	View, ID     string
	Line         int
	ViewAt, IDAt *yaml.Node // the view's key, the id's
	Fields       *yaml.Node // a mapping
}

// Absent is a document a view must not hold.
type Absent struct {
	View, ID     string
	Line         int
	ViewAt, IDAt *yaml.Node // the view's key, the id's
}

// Parse reads a test file: one YAML document, its aliases resolved and
// its merge keys (<<: *row) expanded.
func Parse(path string) (*File, error) {
	return parse(&parser{path: path})
}

// ParseDrafts is Parse letting a case expect nothing yet: one being
// written, whose documents `projector test --print` shows to start its
// expectations from. Such a case is a draft: it neither passes nor fails.
func ParseDrafts(path string) (*File, error) {
	return parse(&parser{path: path, drafts: true})
}

func parse(p *parser) (*File, error) {
	path := p.path
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	top, err := p.document(raw)
	if err != nil {
		return nil, err
	}
	f := &File{Path: path}
	configMissing, casesMissing := p.fileKeys(top, f)
	if configMissing {
		p.report(p.errf(top, "config: missing"))
	}
	if casesMissing {
		p.report(p.errf(top, "cases: no cases"))
	}
	if f.Config != "" && len(p.problems) > 0 {
		// The config, and the names the well-formed records use, checked
		// too: every problem of the file in one run, as validate gives a
		// config's.
		plan, err := loadPlan(f.Config)
		p.report(configProblem(f, err))
		if err == nil {
			p.problems = append(p.problems, check(f, plan)...)
		}
	}
	if len(p.problems) > 0 {
		return nil, errors.Join(inOrder(p.problems)...)
	}
	return f, nil
}

// fileKeys reads the keys at the file's top into f, reporting each
// problem and reading on. It tells whether the config and the cases are
// missing: not written, nor perhaps misspelt as an unknown key reported
// or written amiss (a problem of its own).
func (p *parser) fileKeys(top *yaml.Node, f *File) (configMissing, casesMissing bool) {
	written := map[string]bool{}
	unknown := false
	err := p.mapping(top, func(k, v *yaml.Node) error {
		written[k.Value] = true
		switch k.Value {
		case "config":
			cfg, err := p.text(v, "config")
			if err != nil || cfg == "" {
				return p.errf(v, "config: want the path of a projector config")
			}
			f.Config, f.ConfigAt = cfg, v
			if !filepath.IsAbs(f.Config) {
				f.Config = filepath.Join(filepath.Dir(p.path), f.Config)
			}
		case "cases":
			if v.Kind != yaml.SequenceNode {
				return p.errf(v, "cases: want a list")
			}
			if len(v.Content) == 0 {
				written["cases"] = false // as good as not written
			}
			for _, c := range v.Content {
				f.Cases = append(f.Cases, p.testCase(c))
			}
		default:
			unknown = true
			return p.errf(k, "unknown key %q (want config, cases)", k.Value)
		}
		return nil
	})
	if err != nil { // not a mapping: no key to tell of
		p.report(err)
		return false, false
	}
	return !written["config"] && !unknown, !written["cases"] && !unknown
}

// document parses the file's one YAML document and returns its top node,
// resolved (see resolver).
func (p *parser) document(raw []byte) (top *yaml.Node, err error) {
	defer func() {
		// yaml.v3 has panicked on hostile input; a bad file must not
		// bring projector test down (see config's decoder).
		if r := recover(); r != nil {
			top, err = nil, p.errf(fileStart(), "invalid YAML")
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	var doc yaml.Node
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return nil, p.errf(fileStart(), "empty file")
	} else if err != nil {
		return nil, p.syntaxError(err, raw)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, p.errf(&extra, "a second YAML document (after ---): a test file holds one; put more cases under cases:")
	case !errors.Is(err, io.EOF):
		return nil, p.syntaxError(err, raw)
	}
	if len(doc.Content) == 0 {
		return nil, p.errf(fileStart(), "empty file")
	}
	r := &resolver{p: p, budget: maxNodes, active: map[*yaml.Node]bool{}}
	return r.node(doc.Content[0], nil)
}

// fileStart is where a problem of the whole file is reported: 1:1, as
// validate reports an empty config.
func fileStart() *yaml.Node { return &yaml.Node{Line: 1, Column: 1} }

// syntaxError reports a YAML syntax error at its file:line:col, as
// validate reports the configuration's.
func (p *parser) syntaxError(err error, raw []byte) error {
	line, col, msg := config.YAMLSyntaxError(err, raw)
	if line == 0 {
		line, col = 1, 1 // yaml.v3 names no line for some errors: the file's start, as validate
	}
	return fmt.Errorf("%w: %s:%d:%d: invalid YAML: %s", ErrMalformed, p.path, line, col, msg)
}

// maxNodes bounds a test file's nodes once its aliases are expanded.
const maxNodes = 1_000_000

// resolver copies a node tree with its aliases replaced by copies of the
// nodes they name and its merge keys expanded, so that the rest of the
// parser sees plain mappings, lists and scalars. What an alias brings is
// placed at the alias's line: a failure in a document expected through
// *doc is reported where the case uses it. A key written twice in a
// mapping is an error; a key a merge brings is overridden by one written.
type resolver struct {
	p      *parser
	budget int
	active map[*yaml.Node]bool // the nodes being copied: an alias to one is a cycle
}

func (r *resolver) node(n, at *yaml.Node) (*yaml.Node, error) {
	if r.budget--; r.budget < 0 {
		return nil, r.p.errf(n, "too large once its aliases are expanded (over %d nodes)", maxNodes)
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil || r.active[n.Alias] {
			return nil, r.p.errf(n, "alias *%s refers to a node that contains it", n.Value)
		}
		if at == nil {
			at = n
		}
		return r.node(n.Alias, at)
	}
	out := *n
	out.Anchor, out.Content = "", nil
	if at != nil {
		out.Line, out.Column = at.Line, at.Column
	}
	if n.Kind != yaml.MappingNode && n.Kind != yaml.SequenceNode {
		return &out, nil
	}
	r.active[n] = true
	defer delete(r.active, n)
	if n.Kind == yaml.MappingNode {
		return &out, r.mapping(n, &out, at)
	}
	for _, c := range n.Content {
		cc, err := r.node(c, at)
		if err != nil {
			return nil, err
		}
		out.Content = append(out.Content, cc)
	}
	return &out, nil
}

// mapping fills out with the keys written in n, then those its merge keys
// bring that it does not have (the first merged mapping wins).
func (r *resolver) mapping(n, out, at *yaml.Node) error {
	have := map[string]bool{}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			merges = append(merges, v)
			continue
		}
		kk, err := r.node(k, at)
		if err != nil {
			return err
		}
		if kk.Kind != yaml.ScalarNode {
			return r.p.errf(kk, "a key must be a single value, not %s", kindName(kk))
		}
		if have[kk.Value] {
			// Reported, and the rest read on: the file's other problems
			// are reported beside it.
			r.p.report(r.p.errf(kk, "key %q written twice", kk.Value))
			continue
		}
		have[kk.Value] = true
		vv, err := r.node(v, at)
		if err != nil {
			return err
		}
		out.Content = append(out.Content, kk, vv)
	}
	for _, m := range merges {
		mm, err := r.node(m, at)
		if err != nil {
			return err
		}
		sources := []*yaml.Node{mm}
		if mm.Kind == yaml.SequenceNode {
			sources = mm.Content
		}
		for _, src := range sources {
			if src.Kind != yaml.MappingNode {
				return r.p.errf(src, "<<: want a mapping (or a list of them) to merge, not %s", kindName(src))
			}
			for i := 0; i+1 < len(src.Content); i += 2 {
				if k := src.Content[i]; !have[k.Value] {
					have[k.Value] = true
					out.Content = append(out.Content, k, src.Content[i+1])
				}
			}
		}
	}
	return nil
}

func kindName(n *yaml.Node) string {
	switch {
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Tag == "!!null":
		return "null"
	}
	return "a single value"
}

// mapping calls fn for each key of a mapping node, in order, reporting
// the problem fn returns and reading on: one run tells every key's. Its
// error is n's not being a mapping.
func (p *parser) mapping(n *yaml.Node, fn func(k, v *yaml.Node) error) error {
	if n.Kind != yaml.MappingNode {
		return p.errf(n, "want a mapping, not %s", kindName(n))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		p.report(fn(n.Content[i], n.Content[i+1]))
	}
	return nil
}

// text returns a scalar's text; key names it in the message.
func (p *parser) text(n *yaml.Node, key string) (string, error) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", p.errf(n, "%s: want a single value, not %s", key, kindName(n))
	}
	return n.Value, nil
}

// testCase reads one case, reporting its problems; the case holds what
// was well formed, whose names Parse checks too. A case without a name
// or expectations is reported only when no problem of its keys may be
// why: a misspelt expect is not also a case that expects nothing.
func (p *parser) testCase(n *yaml.Node) *Case {
	c := &Case{Line: n.Line}
	misread := false // the name or the expectations may be where a problem is
	err := p.mapping(n, func(k, v *yaml.Node) error {
		before := len(p.problems)
		err := p.caseKey(c, k, v)
		if k.Value != "given" && k.Value != "now" && (err != nil || len(p.problems) > before) {
			misread = true
		}
		return err
	})
	if err != nil { // not a mapping: no key to tell of
		p.report(err)
		return c
	}
	if c.Name == "" && !misread {
		p.report(p.errf(n, "case without a name"))
	}
	if len(c.Expect)+len(c.Absent) == 0 && !misread && !p.drafts {
		p.report(p.errf(n, "case %q expects nothing", c.Name))
	}
	return c
}

// caseKey reads one key of a case into c.
func (p *parser) caseKey(c *Case, k, v *yaml.Node) error {
	var err error
	switch k.Value {
	case "name":
		c.Name, err = p.text(v, "name")
	case "now":
		c.Now, err = p.instant(v)
	case "given":
		if v.Kind != yaml.SequenceNode {
			return p.errf(v, "given: want a list of change records")
		}
		for _, g := range v.Content {
			gv, err := p.given(g)
			p.report(err)
			if gv != nil {
				c.Given = append(c.Given, gv)
			}
		}
	case "expect":
		return p.mapping(v, func(view, docs *yaml.Node) error {
			return p.mapping(docs, func(id, fields *yaml.Node) error {
				if fields.Kind != yaml.MappingNode {
					return p.errf(fields, "expect %s %s: want a mapping of fields ({} for any doc)", view.Value, id.Value)
				}
				// The doc's line is its id's: a block mapping of
				// fields starts on the next line.
				c.Expect = append(c.Expect, &Expect{View: view.Value, ID: id.Value, Line: id.Line, ViewAt: view, IDAt: id, Fields: fields})
				return nil
			})
		})
	case "absent":
		return p.mapping(v, func(view, ids *yaml.Node) error {
			if ids.Kind != yaml.SequenceNode {
				return p.errf(ids, "absent %s: want a list of doc ids", view.Value)
			}
			for _, id := range ids.Content {
				s, err := p.text(id, "absent "+view.Value)
				p.report(err)
				if err == nil {
					c.Absent = append(c.Absent, &Absent{View: view.Value, ID: s, Line: id.Line, ViewAt: view, IDAt: id})
				}
			}
			return nil
		})
	default:
		return p.errf(k, "unknown key %q (want name, now, given, expect, absent)", k.Value)
	}
	return err
}

// value converts a node to a JSON value, numbers exact as written.
func value(n *yaml.Node) any {
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = value(n.Content[i+1])
		}
		return m
	case yaml.SequenceNode:
		a := make([]any, len(n.Content))
		for i, c := range n.Content {
			a[i] = value(c)
		}
		return a
	}
	switch n.Tag {
	case "!!null":
		return nil
	case "!!bool":
		b, _ := strconv.ParseBool(n.Value)
		return b
	case "!!int", "!!float":
		if num, ok := jsonNumber(n); ok {
			return num
		}
	}
	return n.Value
}

// IsTestFile reports whether the file at path may be a test file: YAML
// with config or cases at its top. A directory's other YAML files, such
// as the projector config its test files name or a list (a playbook), are
// not run. A file that cannot be read or parsed as YAML may be one: Parse
// says what is wrong with it.
func IsTestFile(path string) (maybe bool) {
	defer func() {
		if recover() != nil {
			maybe = true // Parse says what is wrong with it
		}
	}()
	raw, err := os.ReadFile(path)
	if err != nil {
		return true
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return true
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return false // empty, a list or a scalar at the top
	}
	top := doc.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		if k := top.Content[i].Value; k == "config" || k == "cases" {
			return true
		}
	}
	return false
}
