// Package projtest runs projection test cases: YAML files that give change
// records and expect view documents, run against an in-memory engine.
//
//	config: ../projector.yaml      # relative to the test file
//	cases:
//	  - name: a paid order
//	    given:
//	      - { source: orders, op: c, after: { id: 1, user_id: u1, status: paid } }
//	      - { topic: shop.public.orders, key: {...}, value: {...} }  # a raw Debezium record
//	    expect:
//	      order_view:
//	        "1": { status: paid, customer: { name: Ada } }  # a subset of the doc's fields
//	    absent:
//	      order_view: ["2"]
package projtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"gopkg.in/yaml.v3"
)

// ErrMalformed marks a test file that cannot be run.
var ErrMalformed = errors.New("malformed test file")

// File is a parsed test file.
type File struct {
	Path   string
	Config string // the config's path, resolved against the file's directory
	Cases  []*Case
}

// Case is one test case.
type Case struct {
	Name   string
	Line   int
	Given  []*Given
	Expect []*Expect
	Absent []*Absent
}

// Given is one change record: raw (Topic set) or short (Source set).
type Given struct {
	Line int
	// A raw record: Key and Value are its JSON (Value nil: a tombstone).
	Topic      string
	Key, Value []byte
	// A short record.
	Source        string
	Op            string
	Before, After map[string]any
}

// Expect is a document a view must hold, as a subset of its fields.
type Expect struct {
	View, ID string
	Line     int
	Fields   *yaml.Node // a mapping
}

// Absent is a document a view must not hold.
type Absent struct {
	View, ID string
	Line     int
}

// Parse reads a test file.
func Parse(path string) (*File, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrMalformed, path, err)
	}
	p := &parser{path: path}
	f := &File{Path: path}
	if len(doc.Content) == 0 {
		return nil, p.errf(&doc, "empty file")
	}
	top := doc.Content[0]
	err = p.mapping(top, func(k string, v *yaml.Node) error {
		switch k {
		case "config":
			if v.Kind != yaml.ScalarNode || v.Value == "" {
				return p.errf(v, "config: want the path of a projector config")
			}
			f.Config = v.Value
			if !filepath.IsAbs(f.Config) {
				f.Config = filepath.Join(filepath.Dir(path), f.Config)
			}
		case "cases":
			if v.Kind != yaml.SequenceNode {
				return p.errf(v, "cases: want a list")
			}
			for _, c := range v.Content {
				tc, err := p.testCase(c)
				if err != nil {
					return err
				}
				f.Cases = append(f.Cases, tc)
			}
		default:
			return p.errf(v, "unknown key %q (want config, cases)", k)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if f.Config == "" {
		return nil, p.errf(top, "config: missing")
	}
	if len(f.Cases) == 0 {
		return nil, p.errf(top, "cases: no cases")
	}
	return f, nil
}

type parser struct{ path string }

func (p *parser) errf(n *yaml.Node, format string, args ...any) error {
	return fmt.Errorf("%w: %s:%d: %s", ErrMalformed, p.path, n.Line, fmt.Sprintf(format, args...))
}

// mapping calls fn for each key of a mapping node, in order.
func (p *parser) mapping(n *yaml.Node, fn func(k string, v *yaml.Node) error) error {
	if n.Kind != yaml.MappingNode {
		return p.errf(n, "want a mapping")
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if err := fn(n.Content[i].Value, n.Content[i+1]); err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) testCase(n *yaml.Node) (*Case, error) {
	c := &Case{Line: n.Line}
	err := p.mapping(n, func(k string, v *yaml.Node) error {
		switch k {
		case "name":
			c.Name = v.Value
		case "given":
			if v.Kind != yaml.SequenceNode {
				return p.errf(v, "given: want a list of change records")
			}
			for _, g := range v.Content {
				gv, err := p.given(g)
				if err != nil {
					return err
				}
				c.Given = append(c.Given, gv)
			}
		case "expect":
			return p.mapping(v, func(view string, docs *yaml.Node) error {
				return p.mapping(docs, func(id string, fields *yaml.Node) error {
					if fields.Kind != yaml.MappingNode {
						return p.errf(fields, "expect %s %s: want a mapping of fields ({} for any doc)", view, id)
					}
					c.Expect = append(c.Expect, &Expect{View: view, ID: id, Line: fields.Line, Fields: fields})
					return nil
				})
			})
		case "absent":
			return p.mapping(v, func(view string, ids *yaml.Node) error {
				if ids.Kind != yaml.SequenceNode {
					return p.errf(ids, "absent %s: want a list of doc ids", view)
				}
				for _, id := range ids.Content {
					c.Absent = append(c.Absent, &Absent{View: view, ID: id.Value, Line: id.Line})
				}
				return nil
			})
		default:
			return p.errf(v, "unknown key %q (want name, given, expect, absent)", k)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if c.Name == "" {
		return nil, p.errf(n, "case without a name")
	}
	if len(c.Expect)+len(c.Absent) == 0 {
		return nil, p.errf(n, "case %q expects nothing", c.Name)
	}
	return c, nil
}

func (p *parser) given(n *yaml.Node) (*Given, error) {
	g := &Given{Line: n.Line}
	hasValue := false
	err := p.mapping(n, func(k string, v *yaml.Node) error {
		var err error
		switch k {
		case "topic":
			g.Topic = v.Value
		case "key":
			g.Key, err = rawJSON(v)
		case "value":
			hasValue = true
			g.Value, err = rawJSON(v)
		case "source":
			g.Source = v.Value
		case "op":
			g.Op = v.Value
		case "before", "after":
			if v.Tag == "!!null" {
				return nil
			}
			if v.Kind != yaml.MappingNode {
				return p.errf(v, "%s: want a mapping of columns", k)
			}
			row := value(v).(map[string]any)
			if k == "before" {
				g.Before = row
			} else {
				g.After = row
			}
		default:
			return p.errf(v, "unknown key %q (want topic, key, value for a Debezium record; source, op, before, after for a short one)", k)
		}
		if err != nil {
			return p.errf(v, "%s: %v", k, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	switch {
	case g.Topic != "" && g.Source != "":
		return nil, p.errf(n, "a record has either topic (Debezium) or source (short form), not both")
	case g.Topic != "":
		if !hasValue {
			return nil, p.errf(n, "record of %s: missing value (null for a tombstone)", g.Topic)
		}
	case g.Source != "":
		if g.Op == "" {
			g.Op = "c"
		}
		switch g.Op {
		case "c", "r", "u":
			if g.After == nil {
				return nil, p.errf(n, "op %s: missing after", g.Op)
			}
		case "d":
			if g.Before == nil && g.After == nil {
				return nil, p.errf(n, "op d: give the deleted row's key columns in before")
			}
		default:
			return nil, p.errf(n, "op %q: want c, r, u or d", g.Op)
		}
	default:
		return nil, p.errf(n, "a record needs topic (Debezium) or source (short form)")
	}
	return g, nil
}

// rawJSON is the JSON of a node: a string is taken as JSON text already
// (Debezium records are often pasted as is), null is no bytes.
func rawJSON(n *yaml.Node) ([]byte, error) {
	if n.Tag == "!!null" {
		return nil, nil
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		if !json.Valid([]byte(n.Value)) {
			return nil, errors.New("a string must be JSON text")
		}
		return []byte(n.Value), nil
	}
	return json.Marshal(value(n))
}

// value converts a node to a JSON value, numbers exact as written.
func value(n *yaml.Node) any {
	switch n.Kind {
	case yaml.AliasNode:
		return value(n.Alias)
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
		if json.Valid([]byte(n.Value)) {
			return json.Number(n.Value)
		}
	}
	return n.Value
}
