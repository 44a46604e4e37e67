package projtest

import (
	"strings"
	"testing"
)

// A doc carries every field of its view, null ones included: an expected
// field the doc does not have (a typo, a field removed from the view)
// fails as missing, even when null is expected.
func TestExpectedNullFieldMustExist(t *testing.T) {
	fails := runCases(t, ordersCfg, `  - name: typo
    given:
      - { source: orders, after: { id: 1, user_id: u1, status: null } }
    expect:
      order_view: { "1": { statsu: null } }
  - name: a null field
    given:
      - { source: orders, after: { id: 1, user_id: u1, status: null } }
    expect:
      order_view: { "1": { status: null, total: null } }
`)
	if len(fails) != 1 || !strings.Contains(fails[0], `case "typo": view order_view doc 1: field statsu missing, want null`) {
		t.Errorf("failures %q, want statsu missing", fails)
	}
}

// Text compares exactly with the expected value as written: text that
// looks like a number is not compared by value.
func TestTextComparesExactly(t *testing.T) {
	fails := runCases(t, ordersCfg, `  - name: text
    given:
      - { source: orders, after: { id: 1, user_id: "007", status: "1e2" } }
    expect:
      order_view: { "1": { user_id: "7", status: "100" } }
  - name: an unquoted number is its text
    given:
      - { source: orders, after: { id: 1, user_id: "7", status: "1e2" } }
    expect:
      order_view: { "1": { user_id: 7, status: 1e2 } }
`)
	want := []string{`field user_id = "007", want "7"`, `field status = "1e2", want "100"`}
	if len(fails) != len(want) {
		t.Fatalf("failures %q, want %q", fails, want)
	}
	for i, w := range want {
		if !strings.Contains(fails[i], `case "text"`) || !strings.Contains(fails[i], w) {
			t.Errorf("failure %q, want %q", fails[i], w)
		}
	}
}

// A boolean matches only a boolean: true is not the text "true", nor the
// other way round.
func TestBooleansCompareOnlyWithBooleans(t *testing.T) {
	fails := runCases(t, ordersCfg, `  - name: bool for text
    given:
      - { source: orders, after: { id: 1, user_id: u1, status: "true", paid: true } }
    expect:
      order_view: { "1": { status: true } }
  - name: text for bool
    given:
      - { source: orders, after: { id: 1, user_id: u1, status: "true", paid: true } }
    expect:
      order_view: { "1": { paid: "true" } }
  - name: bool
    given:
      - { source: orders, after: { id: 1, user_id: u1, status: "true", paid: true } }
    expect:
      order_view: { "1": { status: "true", paid: true } }
`)
	if len(fails) != 2 || !strings.Contains(fails[0], `field status = "true", want true`) ||
		!strings.Contains(fails[1], `field paid = true, want "true"`) {
		t.Errorf("failures %q, want the two mixes of text and boolean", fails)
	}
}

// Numbers, and the decimal text of a numeric field, compare by value,
// however the expected value is written.
func TestNumbersCompareByValue(t *testing.T) {
	fails := runCases(t, ordersCfg, `  - name: by value
    given:
      - { source: orders, after: { id: 1, user_id: u1, total: "12.5" } }
    expect:
      order_view: { "1": { id: "1", total: 12.5 } }
  - name: decimal text
    given:
      - { source: orders, after: { id: 1, user_id: u1, total: 12.5 } }
    expect:
      order_view: { "1": { id: 1.0, total: "12.50" } }
  - name: another value
    given:
      - { source: orders, after: { id: 1, user_id: u1, total: 12.5 } }
    expect:
      order_view: { "1": { id: 2, total: "12.51" } }
`)
	if len(fails) != 2 || !strings.Contains(fails[0], `field id = 1, want 2`) ||
		!strings.Contains(fails[1], `field total = "12.50", want "12.51"`) {
		t.Errorf("failures %q, want only the other values", fails)
	}
}
