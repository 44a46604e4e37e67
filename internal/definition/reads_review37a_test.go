package definition

import "testing"

// TestR37aEqualTypeSpellingsNoRetypeFinding: numeric(10) is numeric(10,0)
// (PostgreSQL prints both numeric(10,0); projector's decoder reads both
// with scale 0) and timestamptz(6) is timestamptz's own precision: the
// documents were decoded exactly as the new spelling decodes them. Reads
// records config.Type.String(), so Diff reports "source columns retyped"
// needing a rebuild: every start warns and validate exits with a needed
// rebuild until one.
func TestR37aEqualTypeSpellingsNoRetypeFinding(t *testing.T) {
	for _, tc := range [][2]string{{"numeric(10)", "numeric(10,0)"}, {"timestamptz", "timestamptz(6)"}} {
		if c := Diff("item_view", readsOf(t, tc[0]), readsOf(t, tc[1])); len(c.Findings) > 0 {
			t.Errorf("%s → %s: findings %+v, want none (the same type)", tc[0], tc[1], c.Findings)
		}
	}
}
