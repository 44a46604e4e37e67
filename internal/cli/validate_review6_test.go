package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// review6Config is a valid configuration whose views are given by views
// (and stores by stores).
func review6Config(t *testing.T, stores, views string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "p.yaml")
	cfg := `version: 1
kafka: { brokers: "localhost:9092" }
stores: ` + stores + `
sources:
  orders:
    topic: shop.public.orders
    key: id
    columns: { id: bigint, status: text }
views:
` + views
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestReview6ValidateRedisKeyInProjectorsKeySpace: a Redis key template
// starting with projector's own rev key prefix ("projector:rev:", README
// "The stores": revisions live in projector:rev:{<key>}) is refused by
// `projector run` at start (sinks/redis/sink.go:163, "key template … starts
// with the rev key prefix", exit 2), yet `projector validate` says ok, also
// online with the Redis URL set. README "Commands": validate reports every
// problem; exit 2 covers "a store setting run refuses at start". The user's
// CI passes and the deployment fails.
func TestReview6ValidateRedisKeyInProjectorsKeySpace(t *testing.T) {
	p := review6Config(t, `{ postgres: { url: "postgres://x@localhost/db" }, redis: { url: "redis://localhost:6379/0" } }`, `  v:
    from: orders
    fields: { id: id, status: status }
    sinks: { redis: { key: "projector:rev:{id}" } }
`)
	code, out, errs := run(t, "validate", "-c", p, "--offline")
	if code != ExitUsage || !strings.Contains(errs, p+":") {
		t.Fatalf("validate of a Redis key in projector's key space: exit %d, want %d with a file:line:col problem\n%s%s", code, ExitUsage, out, errs)
	}
}

// TestReview6ValidateTableClashesWithStateTables: with stores.postgres.schema
// public (a valid setting) a view whose table is "revs" (a valid name) would
// be projector's own revisions table. validate says ok; `projector run`
// fails at start with "migrate state: ERROR: ALTER action ADD COLUMN cannot
// be performed on relation "revs"" (or the sink's reader view cannot be
// created). Tried against PostgreSQL with this very file. README
// "Commands": validate reports every problem.
func TestReview6ValidateTableClashesWithStateTables(t *testing.T) {
	p := review6Config(t, `{ postgres: { url: "postgres://x@localhost/db", schema: public } }`, `  revs:
    from: orders
    fields: { id: id }
    sinks: { postgres: {} }
`)
	code, out, errs := run(t, "validate", "-c", p, "--offline")
	if code != ExitUsage {
		t.Fatalf("validate of a view table that is projector's own table: exit %d, want %d\n%s%s", code, ExitUsage, out, errs)
	}
}

// TestReview6ValidateTableClashesWithGeneration: a view's rows live in the
// physical table <table>__g<N> (sinks/postgres/view.go:244). A second view
// whose table is "a__g1" is accepted by validate (config/validate_view.go
// only compares schema.table), and `projector run` refuses to start:
// `postgres sink: migrate: view "b": reader view "public"."a__g1": ERROR:
// "a__g1" is not a view`.
func TestReview6ValidateTableClashesWithGeneration(t *testing.T) {
	p := review6Config(t, `{ postgres: { url: "postgres://x@localhost/db" } }`, `  a:
    from: orders
    fields: { id: id }
    sinks: { postgres: {} }
  b:
    from: orders
    fields: { id: id }
    sinks: { postgres: { table: a__g1 } }
`)
	code, out, errs := run(t, "validate", "-c", p, "--offline")
	if code != ExitUsage {
		t.Fatalf("validate of a view table that is another view's generation table: exit %d, want %d\n%s%s", code, ExitUsage, out, errs)
	}
}

// TestReview6ValidateTableTooLongForGenerations: view and table names may
// have 63 characters (config/validate_view.go, validName), but the sink
// refuses a table whose generation name (<table>__g1) is over 63 bytes:
// "with its generation suffix the name is 67 bytes, PostgreSQL allows 63".
// Offline (CI), validate says ok; online it prints that message without
// file:line:col. `projector run` then refuses to start.
func TestReview6ValidateTableTooLongForGenerations(t *testing.T) {
	name := strings.Repeat("v", 63)
	p := review6Config(t, `{ postgres: { url: "postgres://x@localhost/db" } }`, `  `+name+`:
    from: orders
    fields: { id: id }
    sinks: { postgres: {} }
`)
	code, out, errs := run(t, "validate", "-c", p, "--offline")
	if code != ExitUsage || !strings.Contains(errs, p+":") {
		t.Fatalf("validate of a 63-character view table: exit %d, want %d with a file:line:col problem\n%s%s", code, ExitUsage, out, errs)
	}
}

// review6Shop is a configuration with orders and their customer, whose
// view's sinks are given by sinks.
func review6Shop(t *testing.T, sinks string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "p.yaml")
	cfg := `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://x@localhost/db" }, redis: { url: "redis://localhost:6379/0" } }
sources:
  orders:
    topic: shop.public.orders
    key: id
    columns: { id: bigint, user_id: text, status: text, created_at: timestamptz }
  users:
    topic: shopmongo.shop.users
    key: _id
    columns: { _id: text, name: text }
views:
  v:
    from: orders
    fields:
      id: id
      status: status
      created_at: created_at
      customer: { one: users, on: { _id: user_id }, fields: { id: _id, name: name } }
    sinks:
` + sinks
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestReview6ValidateRedisIndexScoreOfText: config/doc.go says an index's
// score is "required: a number, or a date/timestamp scored as epoch
// milliseconds". A score naming a text field is accepted by validate
// (config/validate_sinks.go only checks that the field exists), and at run
// time every document whose status is set fails its Redis write:
// sinks/redis/index.go score(): `"paid" is neither a number nor a
// timestamp` (ErrBadValue). validate should report it at the score.
func TestReview6ValidateRedisIndexScoreOfText(t *testing.T) {
	p := review6Shop(t, `      redis:
        key: "order:{id}"
        indexes:
          - { key: "orders:by_status", score: status }
`)
	code, out, errs := run(t, "validate", "-c", p, "--offline")
	if code != ExitUsage || !strings.Contains(errs, p+":") {
		t.Fatalf("validate of an index scored by a text field: exit %d, want %d with a file:line:col problem\n%s%s", code, ExitUsage, out, errs)
	}
}

// TestReview6ValidateRedisIndexKeyOfObject: an index key placeholder may
// name any field (config/doc.go: "placeholders name any field, dotted paths
// reach into joined objects"), but one naming the joined object itself
// ({customer}) cannot be resolved: sinks/redis/template.go keyValue "a
// map[string]interface {} cannot be part of a key" (ErrKey), so every
// document with a customer fails its Redis write. validate accepts it.
func TestReview6ValidateRedisIndexKeyOfObject(t *testing.T) {
	p := review6Shop(t, `      redis:
        key: "order:{id}"
        indexes:
          - { key: "user:{customer}:orders", score: created_at }
`)
	code, out, errs := run(t, "validate", "-c", p, "--offline")
	if code != ExitUsage || !strings.Contains(errs, p+":") {
		t.Fatalf("validate of an index key over a joined object: exit %d, want %d with a file:line:col problem\n%s%s", code, ExitUsage, out, errs)
	}
}

// TestReview6ValidateMistypedColumnIsNotUnknown: one typo in a column's
// type ("numerc(10,2)") is reported at the type, and then again, wrongly,
// at every expression using the column: `a.t: invalid expression "total +
// 1": unknown name total`, although total is declared three lines above.
// The user hunts for a missing column that is not missing. The second
// message is noise caused by the first problem (the column is dropped from
// the source), not a problem of its own.
func TestReview6ValidateMistypedColumnIsNotUnknown(t *testing.T) {
	p := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(p, []byte(`version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://x@localhost/db" } }
sources:
  orders:
    topic: shop.public.orders
    key: id
    columns: { id: bigint, status: text, total: "numerc(10,2)" }
views:
  a:
    from: orders
    fields:
      id: id
      t: { expr: "total + 1", type: numeric }
    sinks: { postgres: {} }
`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs := run(t, "validate", "-c", p, "--offline")
	if code != ExitUsage || !strings.Contains(errs, "numerc") {
		t.Fatalf("exit %d, want %d and the bad type reported:\n%s", code, ExitUsage, errs)
	}
	if strings.Contains(errs, "unknown name total") {
		t.Errorf("a declared column with a mistyped type is reported as unknown:\n%s", errs)
	}
}
