package projector

import (
	"slices"
	"testing"
)

// TestHeldByTwoStates: what the rows of two states hold alike is only
// what both hold decoded alike: whole rows (decoded without types) and a
// declared column are not alike; a column recorded without a type (an
// earlier version) takes the other's.
func TestHeldByTwoStates(t *testing.T) {
	whole := heldColumns{whole: true}
	slim := heldColumns{complete: []string{"id", "qty"}, types: map[string]string{"id": "text", "qty": "numeric(10)"}}
	respelled := heldColumns{complete: []string{"id", "qty"}, types: map[string]string{"id": "varchar", "qty": "numeric(10,0)"}}
	untyped := heldColumns{complete: []string{"id", "name"}}
	undeclared := heldColumns{complete: []string{"id"}, types: map[string]string{"id": ""}}
	for _, tc := range []struct {
		name string
		a, b heldColumns
		want []string
	}{
		{"slim and respelled", slim, respelled, []string{"id", "qty"}},
		{"slim and whole", slim, whole, nil},
		{"whole and slim", whole, slim, nil},
		{"whole and undeclared", whole, undeclared, []string{"id"}},
		{"slim and untyped", slim, untyped, []string{"id"}},
	} {
		got := tc.a.intersect(tc.b)
		if got.whole || !slices.Equal(got.complete, tc.want) {
			t.Errorf("%s: %+v, want %v", tc.name, got, tc.want)
		}
	}
	if got := whole.intersect(whole); !got.whole {
		t.Errorf("whole and whole: %+v, want whole", got)
	}
	if got := slim.intersect(untyped); got.types["id"] != "text" {
		t.Errorf("slim and untyped: types %v, want id text", got.types)
	}
}
