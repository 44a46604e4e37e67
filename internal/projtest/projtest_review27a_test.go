package projtest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// r27aShopConfig is the example shop's configuration, which the README's
// test cases use.
func r27aShopConfig(t *testing.T) string {
	t.Helper()
	abs, err := filepath.Abs("../../examples/shop/projector.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// r27aWrite writes a test file (and, when cfg is not empty, a
// projector.yaml beside it) and returns the test file's path.
func r27aWrite(t *testing.T, cfg, body string) string {
	t.Helper()
	dir := t.TempDir()
	if cfg != "" {
		if err := os.WriteFile(filepath.Join(dir, "projector.yaml"), []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tf := filepath.Join(dir, "t.yaml")
	if err := os.WriteFile(tf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return tf
}

// A YAML syntax error in a test file is reported at the file's line where
// it is, as file:line (as every other problem of the file, and as the
// configuration's own syntax errors are). yaml.v3's own message names no
// file and, for a parser error, a line one too early (it counts those
// from 0): here "t.yaml: yaml: line 4: ..." for a '}' missing on line 5.
func TestR27aYAMLSyntaxErrorAtFileLine(t *testing.T) {
	for _, tc := range []struct{ name, given string }{
		{"unclosed flow mapping", `      - { source: orders, after: { id: 1, user_id: u1, status: paid }` + "\n"},
		{"unknown anchor", `      - { source: orders, after: *nope }` + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tf := r27aWrite(t, "", "config: "+r27aShopConfig(t)+`
cases:
  - name: x
    given:
`+tc.given+`    expect:
      order_view: { "1": {} }
`)
			_, err := Parse(tf)
			if err == nil {
				t.Fatal("parsed")
			}
			if !strings.Contains(err.Error(), tf+":5:") {
				t.Errorf("error = %q, want it at %s:5: (file:line of the bad record)", err, tf)
			}
		})
	}
}

// README: "raw Debezium records (topic/key/value)"; What it decodes: the
// MongoDB connector's keys `{"id":"{\"$oid\": …}"}` and the StringConverter
// form become {"_id": …}. A MongoDB delete carries nothing but its key, so
// a case cannot test such a delete unless it can give the key as Kafka
// holds it. The test file refuses any key string that is not JSON text.
func TestR27aStringConverterKey(t *testing.T) {
	tf := r27aWrite(t, "", "config: "+r27aShopConfig(t)+`
cases:
  - name: a MongoDB delete keyed by the StringConverter
    given:
      - { source: users, after: { _id: "68121c1692da88b533465769", name: Ada } }
      - { source: orders, after: { id: 5, user_id: "68121c1692da88b533465769", status: paid, total_amount: "1.00" } }
      - topic: shopmongo.shop.users
        key: 'Struct{id={"$oid": "68121c1692da88b533465769"}}'
        value: { before: null, after: null, updateDescription: null, op: d, ts_ms: 1745953508263,
                 source: { version: 2.7.0.Final, connector: mongodb, name: shopmongo, ts_ms: 1745953508000, snapshot: "false",
                           db: shop, collection: users, ord: 1 } }
    expect:
      order_view: { "5": { customer: null } }
`)
	f, err := Parse(tf)
	if err != nil {
		t.Fatalf("the key the daemon decodes is refused: %v", err)
	}
	res, err := Run(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	for _, fl := range res.Failures {
		t.Error(fl)
	}
}

const r27aCompositeCfg = `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://x/y" } }
sources:
  lines:
    topic: s.public.lines
    key: [order_id, line]
    columns: { order_id: bigint, line: integer, qty: integer }
views:
  line_view:
    from: lines
    fields: { order_id: order_id, line: line, qty: qty }
    sinks: { postgres: { table: line_view } }
`

// absent must not pass while the document it names is there: an id
// spelled otherwise than the engine's canonical text (a composite id
// written as the query API takes it, [1, 2]; an integer id 007, which
// `projector query line_view 007` reads as 7) names no document of the
// in-memory sink, so the expectation passes whatever the view holds. It
// should either find the document (and fail) or make the file malformed.
func TestR27aAbsentIDSpelling(t *testing.T) {
	for _, tc := range []struct{ name, cfg, given, absent string }{
		{"composite id with numbers", r27aCompositeCfg,
			`{ source: lines, after: { order_id: 1, line: 2, qty: 3 } }`, `line_view: ['[1, 2]']`},
		{"composite id with a space", r27aCompositeCfg,
			`{ source: lines, after: { order_id: 1, line: 2, qty: 3 } }`, `line_view: ['["1", "2"]']`},
		{"integer id with a leading zero", "",
			`{ source: orders, after: { id: 7, user_id: u1, status: paid, total_amount: "1.00" } }`, `order_view: ["007"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfgLine := "config: projector.yaml"
			if tc.cfg == "" {
				cfgLine = "config: " + r27aShopConfig(t)
			}
			tf := r27aWrite(t, tc.cfg, cfgLine+`
cases:
  - name: the doc is there
    given:
      - `+tc.given+`
    absent:
      `+tc.absent+`
`)
			f, err := Parse(tf)
			if err != nil {
				return // refused as malformed: fine
			}
			res, err := Run(context.Background(), f)
			if err != nil {
				return
			}
			if res.Failed == 0 {
				t.Errorf("absent %s passed although the document is in the view", tc.absent)
			}
		})
	}
}
