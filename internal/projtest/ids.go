package projtest

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/projectorhq/projector/config"
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

// find is the newest doc of view v whose id names the same values as id:
// each compared as its field's type, numbers by value (007 is 7, 12.5 is
// 12.50), a uuid whatever its letters' case, other text exactly, as the
// stores and the query API match them. The engine's own text of an id is
// found at once.
func (s *docSink) find(v *projections.View, id string) (sinks.Doc, bool) {
	if d, ok := s.docs[v.Name+"\x00"+id]; ok {
		return d, true
	}
	want, err := idParts(v, id)
	if err != nil {
		return sinks.Doc{}, false // check refused it before the case ran
	}
	for _, d := range s.docs {
		if d.View != v.Name {
			continue
		}
		got, err := idParts(v, d.ID)
		if err != nil {
			continue
		}
		same := true
		for i := range want {
			same = same && sameIDValue(idType(v, i), want[i], got[i])
		}
		if same {
			return d, true
		}
	}
	return sinks.Doc{}, false
}

// idType is the type of the view's i-th id field.
func idType(v *projections.View, i int) config.Type {
	for _, f := range v.Fields {
		if f.Name == v.ID[i] {
			return f.Type
		}
	}
	return config.Type{}
}

func sameIDValue(t config.Type, want, got string) bool {
	switch {
	case isNumber(t):
		dw, err1 := decimal.NewFromString(want)
		dg, err2 := decimal.NewFromString(got)
		return err1 == nil && err2 == nil && dw.Equal(dg)
	case t.Name == "uuid":
		return strings.EqualFold(want, got)
	}
	return want == got
}
