package projections_test

import (
	"strings"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projections"
)

const r36dPosHead = `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://x/y" } }
sources:
  orders:
    topic: o
    key: id
    columns: { id: bigint, status: text, total: "numeric(10,2)" }
views:
`

// r36dProblems compiles the views after r36dPosHead (their line 3 is the
// file's line 12) as validate does and returns the problems.
func r36dProblems(t *testing.T, views string) string {
	t.Helper()
	data := r36dPosHead + views
	cfg, err := config.ParseDraft("t.yaml", []byte(data), lookup)
	if cfg == nil {
		t.Fatalf("ParseDraft: %v", err)
	}
	_, err = projections.CompileDraft(cfg, err)
	if err == nil {
		t.Fatal("accepted; want a problem")
	}
	return err.Error()
}

// config.TextPos: an error inside an expression is at the character it
// names (README: validate reports every problem as file:line:col; expr.go
// points into the expression's text). With an anchor or a tag before the
// scalar (a where shared by views, `where: &active ...`), yaml.v3's node
// starts at the anchor: sourcePos looks for the scalar's quote there,
// fails, and the fallback adds the column inside the text to the anchor's
// column, so the error points as many characters early as `&active `
// is long — here at "total" instead of at the second ">".
func TestR36DExprErrorColumnAfterAnchorOrTag(t *testing.T) {
	for _, tc := range []struct{ name, where, want string }{
		{"double-quoted", `where: &w "status == 'x' and total >> 1"`, "t.yaml:12:41: "},
		{"plain", `where: &w2 status == 'x' and total >> 1`, "t.yaml:12:41: "},
		{"tagged", `where: !!str "status == 'x' and total >> 1"`, "t.yaml:12:44: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := r36dProblems(t, "  a:\n    from: orders\n    "+tc.where+"\n    fields: { id: id }\n    sinks: { postgres: {} }\n")
			if !strings.HasPrefix(msg, tc.want) {
				t.Errorf("line 12 is %q; want the problem at %s (the second >), got:\n%s", "    "+tc.where, tc.want, msg)
			}
		})
	}
}

// A double-quoted expression continued on the next line with an escaped
// line break and an escaped space (`\` at the end of the line, `\ ` to keep
// the space: YAML's way to break a long quoted string without folding).
// sourcePos does not take `\ ` after an escaped break as the space it is:
// the walk loses the text, and the fallback puts the problem at 12:38,
// past the end of line 12 (32 characters), instead of at 13:16.
func TestR36DExprErrorColumnAfterEscapedLineBreak(t *testing.T) {
	msg := r36dProblems(t, `  b:
    from: orders
    where: "status == \"x\" and\
      \ total >> 1"
    fields: { id: id }
    sinks: { postgres: {} }
`)
	if !strings.HasPrefix(msg, "t.yaml:13:16: ") {
		t.Errorf("want the problem at t.yaml:13:16 (the second > of line 13), got:\n%s", msg)
	}
}
