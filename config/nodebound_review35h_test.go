package config_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/projectorhq/projector/config"
)

// r35hWide is a configuration without a single anchor, alias or merge
// key: tables sources of cols columns each (an ERP's wide tables), and a
// view of every column of each, written once in the file.
func r35hWide(tables, cols int) []byte {
	var b strings.Builder
	b.WriteString(`version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://localhost/shop" } }
sources:
`)
	for s := range tables {
		fmt.Fprintf(&b, "  t%d:\n    topic: erp.public.t%d\n    key: id\n    columns:\n      id: bigint\n", s, s)
		for c := range cols {
			fmt.Fprintf(&b, "      c%d: text\n", c)
		}
	}
	b.WriteString("views:\n")
	for s := range tables {
		fmt.Fprintf(&b, "  v%d:\n    from: t%d\n    fields:\n      id: id\n", s, s)
		for c := range cols {
			fmt.Fprintf(&b, "      c%d: c%d\n", c, c)
		}
		b.WriteString("    sinks: { postgres: {} }\n")
	}
	return []byte(b.String())
}

// TestR35hNoAliasIsNotTooLarge: the node bound is there against aliases
// and merge keys that expand a small file (the README: "A file that
// aliases and merge keys expand past 100,000 nodes ... is refused as too
// large"). A file with no alias at all expands to nothing more than it
// holds: 200 tables of 200 columns, each with a view of its columns (a
// data platform projecting an ERP; 80,000 lines), must load, not be
// refused as "too large after expanding aliases": it has none. Today each
// value decoded counts against the bound, aliased or not.
func TestR35hNoAliasIsNotTooLarge(t *testing.T) {
	data := r35hWide(200, 200)
	_, err := config.ParseDraftWith("wide.yaml", data, func(string) (string, bool) { return "", false }, config.Options{Offline: true})
	if err != nil {
		t.Errorf("a %d-line configuration without any alias: %.400v", strings.Count(string(data), "\n"), err)
	}
}
