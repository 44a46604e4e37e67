package projector

import (
	"reflect"
	"testing"
)

func TestFold(t *testing.T) {
	c := func(key string, pos int64, kind string) rowChange {
		return rowChange{Key: key, PosHi: pos, Deleted: kind == "d", Merge: kind == "m", Patch: kind == "p"}
	}
	for _, tc := range []struct {
		name     string
		in, want []rowChange
	}{
		{"distinct keys stay", []rowChange{c("a", 1, "u"), c("b", 2, "u")}, []rowChange{c("a", 1, "u"), c("b", 2, "u")}},
		{"a later full change makes earlier ones moot",
			[]rowChange{c("a", 1, "u"), c("b", 1, "u"), c("a", 2, "u"), c("a", 3, "d")},
			[]rowChange{c("b", 1, "u"), c("a", 3, "d")}},
		{"a merge or patch stays on top of what came before",
			[]rowChange{c("a", 1, "u"), c("a", 2, "m"), c("a", 3, "p")},
			[]rowChange{c("a", 1, "u"), c("a", 2, "m"), c("a", 3, "p")}},
		{"a full change after a merge replaces both",
			[]rowChange{c("a", 1, "u"), c("a", 2, "m"), c("a", 3, "u")},
			[]rowChange{c("a", 3, "u")}},
		{"an older change (a duplicate replayed) is dropped",
			[]rowChange{c("a", 5, "u"), c("a", 3, "u")},
			[]rowChange{c("a", 5, "u")}},
		{"an equal position is kept (a replay still recomputes)",
			[]rowChange{c("a", 5, "u"), c("a", 5, "u")},
			[]rowChange{c("a", 5, "u")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, _, _ := fold(tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("fold\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
