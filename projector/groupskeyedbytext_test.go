package projector

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"

	"github.com/projectorhq/projector/config"
)

// TestGroupsKeyedByText: groupBy's groups (a map[any][]any, which no store
// encodes) are an object keyed by each key's text, as JSON writes one,
// alone or inside an array or object; groups whose keys have no text, or
// share one, are null (and counted), never the whole document refused.
// An unsigned integer is an integer.
func TestGroupsKeyedByText(t *testing.T) {
	jsonb := config.Type{Name: "jsonb", Precision: -1, Scale: -1}
	text := config.Type{Name: "text", Precision: -1, Scale: -1}
	groups := map[any][]any{int64(1): {int64(1), int64(1)}, 2.5: {2.5}, "a": {"a"}, true: {true}}
	for _, c := range []struct {
		t    config.Type
		v    any
		want string // its JSON; "" when refused
	}{
		{jsonb, groups, `{"1":[1,1],"2.5":[2.5],"a":["a"],"true":[true]}`},
		{jsonb, []any{map[any][]any{int64(7): {int64(7)}}}, `[{"7":[7]}]`},
		{jsonb, map[string]any{"g": map[any][]any{"x\x00": {"y"}}}, `{"g":{"x\ufffd":["y"]}}`},
		{text, map[any][]any{int64(3): {int64(3)}}, `"{\"3\": [3]}"`},
		{jsonb, map[any][]any{nil: {nil}}, ""},
		{jsonb, map[any][]any{int64(1): {int64(1)}, "1": {"1"}}, ""},
		{jsonb, map[any][]any{int64(1): {math.Inf(1)}}, ""},
		{jsonb, uint8(104), `104`},
		{config.Type{Name: "smallint", Precision: -1, Scale: -1}, uint64(math.MaxUint64), ""},
		{jsonb, uint64(math.MaxUint64), `18446744073709551615`},
	} {
		got, ok := exprResult(c.t, c.v)
		if c.want == "" {
			if ok {
				t.Errorf("exprResult(%s, %#v) = %#v, want refused", c.t.Name, c.v, got)
			}
			continue
		}
		b, err := json.Marshal(got)
		if !ok || err != nil || !jsonEqual(t, string(b), c.want) {
			t.Errorf("exprResult(%s, %#v) = %s (%v, %v), want %s", c.t.Name, c.v, b, ok, err, c.want)
		}
	}
}

func jsonEqual(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
