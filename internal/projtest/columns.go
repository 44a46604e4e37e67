package projtest

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projections"
)

// unknownColumns reports each column of a short record's before and after
// that its source does not declare, at the column's file:line:col, with
// the declared column it is likely a typo of. Such a column can change no
// document: a view reads only declared columns (validate refuses others)
// and the state keeps only what views read, so the record would be taken
// without the column the case meant to set, and the case would test
// something else than it says.
//
// Accepted as before: every column of a source that declares none (its
// rows are kept whole, and views read any column), and the columns of a
// raw Debezium record (topic:), which is pasted as Debezium wrote it, with
// every column of the table, declared or not.
func unknownColumns(p *parser, src *projections.Source, g *Given) {
	if src.Columns == nil {
		return
	}
	for _, row := range []struct {
		name string
		n    *yaml.Node
	}{{"before", g.BeforeAt}, {"after", g.AfterAt}} {
		if row.n == nil {
			continue
		}
		for i := 0; i+1 < len(row.n.Content); i += 2 {
			k := row.n.Content[i]
			if _, ok := src.Columns[k.Value]; ok {
				continue
			}
			p.report(p.errf(k, "%s: source %s has no column %q %s", row.name, src.Name, k.Value, hint(k.Value, src.Order)))
		}
	}
}

// hint is the declared column col is likely a typo of, else the declared
// columns, in the order the config declares them.
func hint(col string, declared []string) string {
	if s := config.Suggest(col, declared); s != "" {
		return fmt.Sprintf("(did you mean %q?)", s)
	}
	return fmt.Sprintf("(columns: %s)", strings.Join(declared, ", "))
}
