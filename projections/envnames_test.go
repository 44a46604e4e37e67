package projections_test

import (
	"strings"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projections"
)

// envNamesHead declares what the views below join and group; ${HIDDEN}
// is set to each case's value.
const envNamesHead = `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://localhost/shop" }, redis: { url: "redis://localhost" } }
sources:
  orders: { topic: o, key: id, columns: { id: bigint, user_id: text, status: text, amount: numeric, info: jsonb, items: jsonb } }
  users: { topic: u, key: _id, columns: { _id: text, name: text, age: bigint } }
views:
  v: `

// compileWithHidden is every problem ParseDraft and CompileDraft find in
// the view, ${HIDDEN} being value.
func compileWithHidden(view, value string) error {
	env := func(name string) (string, bool) {
		if name == "HIDDEN" {
			return value, true
		}
		return "", false
	}
	cfg, err := config.ParseDraft("t.yaml", []byte(envNamesHead+view+"\n"), env)
	if cfg == nil {
		return err
	}
	_, err = projections.CompileDraft(cfg, err)
	return err
}

// A value from the environment is never shown in the compiler's messages
// (config/doc.go), nor a part of it, nor a column close to it: the
// message says where it came from.
func TestCompilerMessagesDescribeEnvironmentValues(t *testing.T) {
	for _, tc := range []struct{ name, value, view, want string }{
		{"redis key without the id", "hiddenkey", `{ from: orders, fields: { id: id }, sinks: { redis: { key: "${HIDDEN}" } } }`,
			"redis key value from ${HIDDEN} leaves out the id field {id}"},
		{"redis key placeholder", "hiddenkey:{id}:{status}", `{ from: orders, fields: { id: id, status: status }, sinks: { redis: { key: "${HIDDEN}" } } }`,
			"redis key placeholder of the value from ${HIDDEN} must be an id field"},
		{"group_by unscaled", "amount", `{ from: orders, group_by: "${HIDDEN}", fields: { amount: amount, n: { agg: count } }, sinks: { postgres: {} } }`,
			"group_by value from ${HIDDEN} is a numeric without a declared scale"},
		{"group_by jsonb", "info", `{ from: orders, group_by: "${HIDDEN}", fields: { info: info, n: { agg: count } }, sinks: { postgres: {} } }`,
			"group_by value from ${HIDDEN} is jsonb"},
		{"agg of text", "status", `{ from: orders, group_by: id, fields: { id: id, n: { agg: sum, of: "${HIDDEN}" } }, sinks: { postgres: {} } }`,
			"sum needs numbers, but value from ${HIDDEN} is text"},
		{"agg with no array", "hiddenitems", `{ from: orders, fields: { id: id, n: { agg: sum, of: "${HIDDEN}" } }, sinks: { postgres: {} } }`,
			"agg over value from ${HIDDEN} needs a one-to-many field"},
		{"agg of a field the array lacks", "lines.hiddenfield", `{ from: orders, fields: { id: id, lines: { many: orders, on: { id: id }, fields: { id: id } }, n: { agg: sum, of: "${HIDDEN}" } }, sinks: { postgres: {} } }`,
			"of: value from ${HIDDEN} names no field of the array"},
		{"agg of the array itself", "lines", `{ from: orders, fields: { id: id, lines: { many: orders, on: { id: id }, fields: { id: id } }, n: { agg: sum, of: "${HIDDEN}" } }, sinks: { postgres: {} } }`,
			"(of: <array>.<field>, not value from ${HIDDEN})"},
		{"postgres index path", "status.hidden", `{ from: orders, fields: { id: id, status: status }, sinks: { postgres: { indexes: [ { fields: ["${HIDDEN}"] } ] } } }`,
			"postgres index on value from ${HIDDEN}: a path needs a jsonb field, but its field is text"},
		{"join of a group on another column", "status", `{ from: orders, group_by: user_id, fields: { user_id: user_id, n: { agg: count }, u: { one: users, on: { _id: "${HIDDEN}" }, column: name } }, sinks: { postgres: {} } }`,
			"and value from ${HIDDEN} is not one"},
		{"join type mismatch", "status", `{ from: orders, fields: { id: id, u: { one: users, on: { age: "${HIDDEN}" }, column: name } }, sinks: { postgres: {} } }`,
			"orders.value from ${HIDDEN} is text"},
		{"redis index score", "status", `{ from: orders, fields: { id: id, status: status, info: info }, sinks: { redis: { key: "o:{id}", indexes: [ { key: "by", score: "${HIDDEN}" } ] } } }`,
			"redis index score value from ${HIDDEN} is text"},
		{"group_by column no field maps", "status", `{ from: orders, group_by: "${HIDDEN}", fields: { n: { agg: count } }, sinks: { postgres: {} } }`,
			"no field maps column value from ${HIDDEN}, part of its group_by columns"},
		{"misspelled column", "statsu", `{ from: orders, fields: { id: id, s: "${HIDDEN}" }, sinks: { postgres: {} } }`,
			"has no column value from ${HIDDEN} (columns: id, user_id, status, amount, info, items)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := compileWithHidden(tc.view, tc.value)
			if err == nil {
				t.Fatal("accepted; want an error")
			}
			for part := range strings.FieldsFuncSeq(tc.value, func(r rune) bool { return strings.ContainsRune(":{}.", r) }) {
				if strings.Contains(part, "hidden") && strings.Contains(err.Error(), part) {
					t.Errorf("shows %q, from the environment:\n%v", part, err)
				}
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("want %q in:\n%v", tc.want, err)
			}
		})
	}
}

// A column of a group_by view that is not grouped is one problem, which
// config.Load reports: the compiler's word on it is the same problem.
func TestUngroupedColumnIsReportedOnce(t *testing.T) {
	for _, tc := range []struct{ name, value, view string }{
		{"from the environment", "status", `{ from: orders, group_by: id, fields: { id: id, s: "${HIDDEN}" }, sinks: { postgres: {} } }`},
		{"written, long form", "", `{ from: orders, group_by: id, fields: { id: id, s: { column: status } }, sinks: { postgres: {} } }`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := compileWithHidden(tc.view, tc.value)
			if err == nil || strings.Count(err.Error(), "\n") != 0 || !strings.Contains(err.Error(), "group_by") {
				t.Errorf("want one problem about group_by, got:\n%v", err)
			}
		})
	}
}
