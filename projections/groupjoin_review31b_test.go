package projections_test

import (
	"strings"
	"testing"
)

// TestReview31bGroupJoinOnPosition: a join of a group_by view on a column
// that is not one of its group_by columns is refused at that column, the
// value of the on: pair the message names (as every other message about
// an on: value is, e.g. an unknown column there), not at the joined
// column beside it. groupJoin ranges over copies of the pairs, so
// ValuePos(&on.Value) never finds the value and falls back to the key.
func TestReview31bGroupJoinOnPosition(t *testing.T) {
	// Line 24: `      u: { one: users, on: { _id: status }, column: name }`;
	// _id is at column 30, status at column 35.
	err := compileViews(t, `
  s:
    from: orders
    group_by: user_id
    fields:
      user_id: user_id
      n: { agg: count }
      u: { one: users, on: { _id: status }, column: name }
    sinks: { postgres: {} }
`)
	want := "t.yaml:24:35: s.u: a join of a group_by view is on its group_by columns (user_id), and status is not one"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v\nwant %s", err, want)
	}
	// The same value, unknown to the root source, is placed at 24:35.
	err = compileViews(t, `
  s:
    from: orders
    group_by: user_id
    fields:
      user_id: user_id
      n: { agg: count }
      u: { one: users, on: { _id: statu }, column: name }
    sinks: { postgres: {} }
`)
	if err == nil || !strings.Contains(err.Error(), `t.yaml:24:35: s: source "orders" has no column "statu"`) {
		t.Errorf("control: %v", err)
	}
}
