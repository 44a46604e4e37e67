package projections_test

import (
	"strings"
	"testing"
)

// TestSQLHabitsGetAHint: SQL written where expr-lang is expected fails to
// compile with expr-lang's own words; the problem says what to write.
func TestSQLHabitsGetAHint(t *testing.T) {
	tests := []struct{ where, hint string }{
		{`status = "paid"`, "write == to compare"},
		{`total <> 3`, "write != for SQL's <>"},
		{`status IS NULL`, "write == nil or != nil"},
		{`total > 1 AND total < 5`, "lower case"},
		{`status LIKE "p%"`, "startsWith"},
		{`id in (1, 2)`, "in [1, 2]"},
	}
	for _, tt := range tests {
		err := compileViews(t, `
  v:
    from: orders
    where: '`+tt.where+`'
    fields: { id: id }
    sinks: { postgres: {} }
`)
		if err == nil || !strings.Contains(err.Error(), tt.hint) {
			t.Errorf("where %s: %v, want a problem saying %q", tt.where, err, tt.hint)
		}
	}
}
