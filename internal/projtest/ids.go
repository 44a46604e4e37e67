package projtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/fieldvalue"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/sinks"
)

// idParts splits an id a case names into the values of the view's id
// fields, as the query API reads an id: the id itself for a view with one
// id field, else a JSON array of one string or number per field.
func idParts(v *projections.View, id string) ([]string, error) {
	if len(v.ID) == 1 {
		return []string{id}, nil
	}
	var raw []json.RawMessage
	dec := json.NewDecoder(strings.NewReader(id))
	if err := dec.Decode(&raw); err != nil || dec.More() || len(raw) != len(v.ID) {
		return nil, fmt.Errorf("view %s has a composite id: write it as a JSON array of %d values (%s), got %q",
			v.Name, len(v.ID), strings.Join(v.ID, ", "), id)
	}
	parts := make([]string, len(raw))
	for i, r := range raw {
		var n json.Number
		if json.Unmarshal(r, &parts[i]) != nil {
			if err := json.Unmarshal(r, &n); err != nil {
				return nil, fmt.Errorf("view %s: id %s: its values must be strings or numbers", v.Name, id)
			}
			parts[i] = n.String()
		}
	}
	return parts, nil
}

// idValues reads an id as the query API does: its values (idParts), each
// in the canonical text of its field's type (fieldvalue.Parse: 007 is 7, a
// timestamp in UTC whatever its offset, yes is true, a uuid in lower case),
// so that ids naming the same document have the same values. A value the
// API refuses for its type is an error; one of a type it does not compare
// (jsonb, bytea) is kept as written, to be matched exactly. finer is true
// of an id holding a time or timestamp finer than a microsecond, which
// names no document (the API answers 404): rounded, it would name another.
func idValues(v *projections.View, id string) (values []string, finer bool, err error) {
	parts, err := idParts(v, id)
	if err != nil {
		return nil, false, err
	}
	for i, s := range parts {
		t := idType(v, i)
		c, err := fieldvalue.Parse(t, s)
		switch {
		case errors.Is(err, fieldvalue.ErrIncomparable):
		case err != nil:
			return nil, false, fmt.Errorf("view %s: id field %s: %q: %v", v.Name, v.ID[i], s, err)
		default:
			_, _, fine := fieldvalue.MicrosecondsAround(t, c, s)
			finer = finer || fine
			parts[i] = c
		}
	}
	return parts, finer, nil
}

// find is the newest doc of view v whose id names the same values as id,
// as the query API would find it (idValues). The engine's own text of an
// id is found at once.
func (s *docSink) find(v *projections.View, id string) (sinks.Doc, bool) {
	if d, ok := s.docs[v.Name+"\x00"+id]; ok {
		return d, true
	}
	want, finer, err := idValues(v, id)
	if err != nil || finer {
		return sinks.Doc{}, false // check refused it before the case ran, or it names none
	}
	for _, d := range s.docs {
		if d.View != v.Name {
			continue
		}
		if got, _, err := idValues(v, d.ID); err == nil && slices.Equal(want, got) {
			return d, true
		}
	}
	return sinks.Doc{}, false
}

// idType is the type of the view's i-th id value as the engine keys its
// docs: its field's, but its column's for a field retyped from the column
// ({ column: at, type: date }), whose value the doc's id holds as it came.
func idType(v *projections.View, i int) config.Type {
	for _, f := range v.Fields {
		if f.Name != v.ID[i] {
			continue
		}
		if t, ok := v.Root.ColumnType(f.Column); f.Retyped && ok {
			return t
		}
		return f.Type
	}
	return config.Type{}
}
