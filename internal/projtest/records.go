package projtest

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/projectorhq/projector/debezium"
	"gopkg.in/yaml.v3"
)

// headers reads a raw record's headers: a mapping of names to their text
// (a number as Kafka Connect's SimpleHeaderConverter writes it).
func (p *parser) headers(n *yaml.Node) ([]debezium.Header, error) {
	if n.Kind != yaml.MappingNode {
		return nil, p.errf(n, "headers: want a mapping of header names to their values")
	}
	var hs []debezium.Header
	err := p.mapping(n, func(k, v *yaml.Node) error {
		if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
			return p.errf(v, "header %s: want its value as text", k.Value)
		}
		hs = append(hs, debezium.Header{Key: k.Value, Value: []byte(v.Value)})
		return nil
	})
	return hs, err
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

// instant reads a clock's instant: an RFC 3339 timestamp (a date alone
// is its midnight, UTC).
func (p *parser) instant(n *yaml.Node) (*time.Time, error) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return nil, p.errf(n, "now: want a timestamp (2024-06-01T12:00:00Z)")
	}
	if t, ok := debezium.ParseTimestamp(n.Value); ok {
		return &t, nil
	}
	if d, ok := debezium.ParseDate(n.Value); ok {
		t := d.Time()
		return &t, nil
	}
	return nil, p.errf(n, "now: %q is no timestamp (want 2024-06-01T12:00:00Z)", n.Value)
}

// The keys of the two kinds of given records.
var (
	rawKeys   = []string{"topic", "key", "value", "headers"}
	shortKeys = []string{"source", "op", "before", "after"}
)

// given reads one item of a case's given: a record or a clock step. Its
// keys' problems are reported as they are read; a record that has one is
// not judged as a whole (a misspelt after is no missing after), but it is
// returned with what was read, so that Parse checks the names it gives
// too. The error is the item's own problem, its names checked as well.
func (p *parser) given(n *yaml.Node) (*Given, error) {
	g := &Given{Line: n.Line}
	keys := map[string]*yaml.Node{}
	opAt := n
	before := len(p.problems)
	err := p.mapping(n, func(k, v *yaml.Node) error {
		keys[k.Value] = k
		if k.Value == "op" {
			opAt = v
		}
		return p.givenKey(g, k, v)
	})
	if err != nil {
		return nil, err
	}
	if len(p.problems) > before {
		return g, nil
	}
	return g, p.givenShape(g, n, keys, opAt)
}

// givenKey reads one key of a given item into g.
func (p *parser) givenKey(g *Given, k, v *yaml.Node) error {
	var err error
	switch k.Value {
	case "topic":
		g.Topic, err = p.text(v, k.Value)
		g.At = v
	case "source":
		g.Source, err = p.text(v, k.Value)
		g.At = v
	case "op":
		g.Op, err = p.text(v, k.Value)
	case "key":
		// A key string is the key's bytes as Kafka holds them, JSON
		// or not: the StringConverter's Struct{…} is decoded too.
		if v.Kind == yaml.ScalarNode && v.Tag == "!!str" {
			g.Key = []byte(v.Value)
		} else if g.Key, err = rawJSON(v); err != nil {
			return p.errf(v, "key: %v", err)
		}
	case "value":
		if g.Value, err = rawJSON(v); err != nil {
			return p.errf(v, "value: %v", err)
		}
	case "headers":
		g.Headers, err = p.headers(v)
	case "now":
		g.Now, err = p.instant(v)
	case "before", "after":
		if v.Tag == "!!null" {
			return nil
		}
		if v.Kind != yaml.MappingNode {
			return p.errf(v, "%s: want a mapping of columns", k.Value)
		}
		row := value(v).(map[string]any)
		if k.Value == "before" {
			g.Before, g.BeforeAt = row, v
		} else {
			g.After, g.AfterAt = row, v
		}
	default:
		return p.errf(k, "unknown key %q (want topic, key, value, headers for a Debezium record; source, op, before, after for a short one; now alone to move the clock)", k.Value)
	}
	return err
}

// givenShape checks a given item whose keys read well as a whole: a clock
// step, a Debezium record or a short one, with what it needs. A short
// record's op defaults to c.
func (p *parser) givenShape(g *Given, n *yaml.Node, keys map[string]*yaml.Node, opAt *yaml.Node) error {
	_, hasTopic := keys["topic"]
	_, hasSource := keys["source"]
	switch {
	case keys["now"] != nil && len(keys) > 1:
		return p.errf(keys["now"], "now: moves the clock, alone in its item (a record has no now)")
	case keys["now"] != nil:
		return nil
	case hasTopic && hasSource:
		return p.errf(n, "a record has either topic (Debezium) or source (short form), not both")
	case hasTopic:
		for _, k := range shortKeys {
			if kn := keys[k]; kn != nil {
				return p.errf(kn, "%s belongs to a short record (source:); a Debezium record (topic:) has its op, before and after in its value", k)
			}
		}
		if g.Topic == "" {
			return p.errf(n, "topic: want the record's topic")
		}
		if keys["value"] == nil {
			return p.errf(n, "record of %s: missing value (null for a tombstone)", g.Topic)
		}
	case hasSource:
		for _, k := range rawKeys {
			if kn := keys[k]; kn != nil {
				return p.errf(kn, "%s belongs to a Debezium record (topic:); a short record (source:) gives its key columns in before or after", k)
			}
		}
		if g.Source == "" {
			return p.errf(n, "source: want the name of a source")
		}
		if g.Op == "" {
			g.Op = "c"
		}
		return p.shortOp(g, n, opAt)
	default:
		return p.errf(n, "a record needs topic (Debezium) or source (short form)")
	}
	return nil
}

// shortOp checks a short record has the rows its op needs.
func (p *parser) shortOp(g *Given, n, opAt *yaml.Node) error {
	switch g.Op {
	case "c", "r", "u":
		if g.After == nil {
			return p.errf(n, "op %s: missing after", g.Op)
		}
	case "d":
		if g.Before == nil && g.After == nil {
			return p.errf(n, "op d: give the deleted row's key columns in before")
		}
	default:
		return p.errf(opAt, "op %q: want c, r, u or d", g.Op)
	}
	return nil
}
