package projections

import (
	"errors"
	"strings"
	"testing"
)

// TestR26bSplitPartsCountInTheEvaluationBudget: README (Expressions): an
// evaluation "whose ranges and arrays hold more than a million items" is
// refused, and "split and splitAfter count their parts before they split".
// expr counts every range and array of an evaluation against one budget
// (map(1..3, 1..500001) is refused: 1.5 million items), but checkedSplit
// (exprbounded.go splitText) only compares each call's parts with the
// million and adds them to nothing: map(1..3, split(s, ",")) holds the same
// 1.5 million items and passes. With K iterations over a 1 MB row of
// commas an evaluation holds K × 16 MB of parts (map(1..1000, …): 16 GB).
func TestR26bSplitPartsCountInTheEvaluationBudget(t *testing.T) {
	env := map[string]any{"s": strings.Repeat(",", 500_000)}
	if _, err := runBounded(t, `len(map(1..3, 1..500001))`, env); err == nil || !strings.Contains(err.Error(), "memory budget exceeded") {
		t.Fatalf("control: ranges of 1.5 million items in all: %v, want the memory budget's error", err)
	}
	for _, src := range []string{`len(map(1..3, split(s, ",")))`, `len(map(1..3, splitAfter(s, ",")))`} {
		got, err := runBounded(t, src, env)
		if !errors.Is(err, errItems) && (err == nil || !strings.Contains(err.Error(), "memory budget exceeded")) {
			t.Errorf("%s over 500,000 commas (3 arrays of 500,001 parts held at once) = %v, %v; want the memory budget's error, as for ranges", src, got, err)
		}
	}
}
