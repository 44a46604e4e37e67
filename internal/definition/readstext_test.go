package definition

import (
	"strings"
	"testing"
)

// TestRetypedNamesColumnsAnInstanceDecodesOtherwise: what an instance
// sends of the types its file declares for the columns a view reads
// (ReadsText) tells a rebuild's file the columns it decodes otherwise,
// naming both types; the same file tells nothing, nor does a text that
// does not decode.
func TestRetypedNamesColumnsAnInstanceDecodesOtherwise(t *testing.T) {
	old, cur := readsOf(t, "bigint"), readsOf(t, "numeric(10,2)")
	if got := cur.Retyped(cur.ReadsText()); got != "" {
		t.Errorf("the same file: %q, want nothing", got)
	}
	got := cur.Retyped(old.ReadsText())
	if !strings.Contains(got, "items.qty bigint, here numeric(10,2)") || strings.Contains(got, "items.id") {
		t.Errorf("retyped qty: %q, want only items.qty with both types", got)
	}
	if got := cur.Retyped("not json"); got != "" {
		t.Errorf("an unreadable text: %q, want nothing", got)
	}
	if got := (Definition{}).ReadsText(); got != "{}" {
		t.Errorf("no reads: %q, want {}", got)
	}
	if got := (Definition{}).Retyped(old.ReadsText()); !strings.Contains(got, "items.qty bigint, here not read") {
		t.Errorf("columns only the instance reads: %q", got)
	}
}
