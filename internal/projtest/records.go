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
