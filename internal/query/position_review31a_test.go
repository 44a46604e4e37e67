package query

import (
	"fmt"
	"strings"
	"testing"

	"github.com/projectorhq/projector/projections"
)

// TestReview31aPositionCountSaysNothingOfOtherSources: README says a
// position on a source the view does not read is refused "in the same
// words whether or not the configuration declares it, so a token for one
// view learns nothing of the others". The cap on the number of positions
// is still the configuration's number of sources: a token that may read a
// view of one source counts the configuration's sources by repeating a
// position on its own source until it is refused ("more positions than
// sources"). Two configurations that differ only in sources the view does
// not read must answer the same request alike.
func TestReview31aPositionCountSaysNothingOfOtherSources(t *testing.T) {
	v := &view{Name: "orders", Sources: []string{"orders"}}
	answer := func(sources ...string) map[int]string {
		plan := &projections.Plan{}
		for _, name := range sources {
			plan.Sources = append(plan.Sources, &projections.Source{Name: name})
		}
		s := &Server{plan: plan}
		out := map[int]string{}
		for n := 1; n <= 4; n++ {
			_, err := s.parsePositions(v, []string{strings.TrimSuffix(strings.Repeat("orders:1,", n), ",")})
			out[n] = fmt.Sprint(err)
		}
		return out
	}
	narrow := answer("orders")
	wide := answer("orders", "users", "payments", "secret_audit")
	for n := 1; n <= 4; n++ {
		if narrow[n] != wide[n] {
			t.Errorf("%d positions on orders: %q with one source declared, %q with four: the answer tells how many sources the configuration has", n, narrow[n], wide[n])
		}
	}
}
