package config_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/projectorhq/projector/config"
)

// aliasHead is a configuration up to its views: a source of two columns.
const aliasHead = `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://localhost/shop" } }
sources:
  orders: { topic: shop.public.orders, key: id, columns: { id: bigint, total: numeric } }
`

// laughs is a billion laughs in an Elasticsearch mapping object: ten
// levels of lists, each of ten aliases to the level below.
func laughs() string {
	var b strings.Builder
	b.WriteString(aliasHead)
	b.WriteString("x-l0: &l0 [a, a, a, a, a, a, a, a, a, a]\n")
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&b, "x-l%d: &l%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d, ", i-1), 10), ", "))
	}
	b.WriteString(`views:
  v:
    from: orders
    fields: { id: id }
    sinks: { elasticsearch: { mappings: { id: { type: keyword, meta: *l9 } } } }
`)
	return b.String()
}

// mergedView is a view of n fields, anchored, and views views that each
// merge it in: few keys copied, each time with all n fields.
func mergedView(fields, views int) string {
	var b strings.Builder
	b.WriteString(aliasHead)
	b.WriteString(anchoredView(fields))
	b.WriteString("views:\n")
	for i := range views {
		fmt.Fprintf(&b, "  v%d: { <<: *view }\n", i)
	}
	return b.String()
}

// anchoredView is a view of n fields anchored as &view.
func anchoredView(fields int) string {
	var b strings.Builder
	b.WriteString("x-view: &view\n  from: orders\n  sinks: { postgres: {} }\n  fields:\n")
	for i := range fields {
		fmt.Fprintf(&b, "    f%d: total\n", i)
	}
	return b.String()
}

// mergedMapping is mergedView in an Elasticsearch mapping object: one
// field's mapping of n properties merged into views properties.
func mergedMapping(properties, views int) string {
	var b strings.Builder
	b.WriteString(aliasHead)
	b.WriteString("x-mapping: &mapping\n  type: object\n  properties:\n")
	for i := range properties {
		fmt.Fprintf(&b, "    p%d: { type: keyword }\n", i)
	}
	b.WriteString("views:\n  v:\n    from: orders\n    fields: { id: id }\n    sinks:\n      elasticsearch:\n        mappings:\n")
	for i := range views {
		fmt.Fprintf(&b, "          m%d: { <<: *mapping }\n", i)
	}
	return b.String()
}

// unknownKeys is a mapping of n keys no view has, anchored, written as
// views views.
func unknownKeys(keys, views int) string {
	var b strings.Builder
	b.WriteString(aliasHead)
	b.WriteString("x-junk: &junk\n")
	for i := range keys {
		fmt.Fprintf(&b, "  junk%d: 1\n", i)
	}
	b.WriteString("views:\n")
	for i := range views {
		fmt.Fprintf(&b, "  v%d: *junk\n", i)
	}
	return b.String()
}

// TestAliasesCountWhatTheyBringIn: the node bound counts what aliases and
// merge keys bring into the configuration, however they do it, and only
// that: a file that writes its nodes out is as large as it looks.
func TestAliasesCountWhatTheyBringIn(t *testing.T) {
	const tooLarge = "too large after expanding aliases (over 100000 nodes)"
	tests := []struct {
		name    string
		file    string
		refused bool
	}{
		{name: "a billion laughs", file: laughs(), refused: true},
		{name: "a view of 2,000 fields merged into 100 views", file: mergedView(2000, 100), refused: true},
		{name: "a mapping of 2,000 properties merged 100 times", file: mergedMapping(2000, 100), refused: true},
		{name: "1,000 unknown keys aliased as 200 views", file: unknownKeys(1000, 200), refused: true},
		{name: "a view of 20 fields merged into 100 views", file: mergedView(20, 100)},
		{name: "a mapping of 20 properties merged 100 times", file: mergedMapping(20, 100)},
		{name: "a view of 100,000 fields aliased once", file: aliasHead + anchoredView(100_000) + "views:\n  v: *view\n", refused: true},
		{name: "a view of 40,000 fields aliased once", file: aliasHead + anchoredView(40_000) + "views:\n  v: *view\n"},
		{name: "a view of 100,000 fields written out", file: aliasHead + strings.Replace(anchoredView(100_000), "x-view: &view", "views:\n v:", 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.ParseDraftWith("bomb.yml", []byte(tt.file), func(string) (string, bool) { return "", false }, config.Options{Offline: true})
			var errs config.Errors
			errors.As(err, &errs)
			found := false
			for _, e := range errs {
				found = found || strings.Contains(e.Msg, tooLarge)
			}
			switch {
			case tt.refused && !found:
				t.Errorf("not refused as %q: %.300v", tooLarge, err)
			case !tt.refused && found:
				t.Errorf("refused: %.300v", err)
			}
		})
	}
}
