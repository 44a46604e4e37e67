package query

import (
	"encoding/json"
	"testing"

	"github.com/projectorhq/projector/config"
)

func TestRawDoc(t *testing.T) {
	num := config.Type{Name: "numeric", Precision: -1, Scale: -1}
	text := config.Type{Name: "text"}
	id := &field{Name: "id", Type: config.Type{Name: "bigint"}}
	v := &view{
		Name: "v",
		ID:   []*field{id},
		Fields: []*field{id, {Name: "total", Type: num}, {Name: "name", Type: text},
			{Name: "customer", Object: []*field{{Name: "score", Type: num}}},
			{Name: "items", Array: true, Items: []*field{{Name: "price", Type: num}, {Name: "sku", Type: text}}},
			{Name: "tags", Object: []*field{{Name: "label", Type: text}}}},
	}
	for _, c := range []struct {
		raw  string
		id   string
		want string // "" for not ok
	}{
		{`{"id":7,"total":"12.50","name":"12.50"}`, "7", `{"id":7,"name":"12.50","total":12.50}`},
		{`{"id":7,"total":1}`, "7", `{"id":7,"total":1}`}, // unchanged: returned as stored
		{`{"id":"7","total":1}`, "7", `{"id":7,"total":1}`},
		{`{"id":8,"total":"1"}`, "7", ""},            // another doc's key
		{`{"total":"1"}`, "7", `{"id":7,"total":1}`}, // the sink's fields left the id out: its key gives it back
		{`{"id":7,"customer":{"score":"3.5"},"items":[{"price":"1.00","sku":"9"}],"tags":{"label":"1"}}`, "7",
			`{"customer":{"score":3.5},"id":7,"items":[{"price":1.00,"sku":"9"}],"tags":{"label":"1"}}`},
		{`{"id":7,"total":"NaN","name\u2028":"x"}`, "7", `{"id":7,"name\u2028":"x","total":"NaN"}`},
		{`[1,2]`, "7", ""},
		{`null`, "7", ""},
		{`{"id":7`, "7", ""},
	} {
		got, ok := rawDoc(v, []byte(c.raw), []string{c.id})
		if c.want == "" {
			if ok {
				t.Errorf("%s: accepted as %s", c.raw, got)
			}
			continue
		}
		if !ok || !json.Valid(got) {
			t.Errorf("%s: %s, %v", c.raw, got, ok)
			continue
		}
		var a, b any
		_ = json.Unmarshal(got, &a)
		_ = json.Unmarshal([]byte(c.want), &b)
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if string(ja) != string(jb) || (c.want == c.raw && string(got) != c.raw) {
			t.Errorf("%s: got %s, want %s", c.raw, got, c.want)
		}
	}
}
