package config

import (
	"strings"
	"testing"
)

// r13cBase is a valid configuration of 13 lines.
const r13cBase = `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://h/db" } }
sources:
  orders:
    topic: shop.public.orders
    key: id
    columns: { id: bigint, status: text }
views:
  v:
    from: orders
    fields: { id: id, status: status }
    sinks: { postgres: {} }
`

func r13cParse(t *testing.T, doc string) string {
	t.Helper()
	_, err := Parse("p.yaml", []byte(doc), func(string) (string, bool) { return "", false })
	if err == nil {
		t.Fatal("no error")
	}
	return err.Error()
}

// An alias to an anchor that does not exist (a typo: *pg_snk for
// &pg_sink) is a problem at the alias, line 14 col 8. yaml.v3's message
// carries no line ("yaml: unknown anchor 'nope' referenced"), and
// syntaxError falls back to the top of the file: 1:1, a place that says
// nothing about where the typo is.
func TestR13cUnknownAnchorPosition(t *testing.T) {
	got := r13cParse(t, r13cBase+"admin: *nope\n")
	if !strings.HasPrefix(got, "p.yaml:14:") {
		t.Errorf("got %q, want it at the alias, p.yaml:14:8", got)
	}
}

// A parser error of yaml.v3 is numbered from 0 (see parserErrors), but
// only six messages are listed: "found undefined tag handle", written on
// line 14, is reported on line 13.
func TestR13cUndefinedTagHandleLine(t *testing.T) {
	got := r13cParse(t, r13cBase+"log: { level: !e!x info }\n")
	if !strings.HasPrefix(got, "p.yaml:14:") {
		t.Errorf("got %q, want it on line 14 where the tag is written", got)
	}
}

// A null list item where a mapping is expected (an index left as `-` with
// everything under it commented out, or `~`) is reported "needs fields" /
// "needs a key template" at p.yaml:1:1, the top of the file: decodeSeq
// records the null item's place, but the Index/RedisIndex struct keeps a
// zero Pos, and validate's fallbacks (v.at(&ix.Fields, ix.Pos)) end at
// the top. The item is on line 14.
func TestR13cNullIndexItemPosition(t *testing.T) {
	for _, tc := range []struct{ name, sinks string }{
		{"postgres", "      postgres:\n        indexes:\n          -\n"},
		{"redis", "      redis:\n        key: \"o:{id}\"\n        indexes:\n          - ~\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.Replace(r13cBase, "    sinks: { postgres: {} }\n", "    sinks:\n"+tc.sinks, 1)
			got := r13cParse(t, doc)
			if strings.Contains(got, "p.yaml:1:1:") {
				t.Errorf("a problem of the null index item is at the top of the file:\n%s", got)
			}
		})
	}
}
