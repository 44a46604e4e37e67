package projections

import (
	"fmt"
	"strings"

	"github.com/projectorhq/projector/config"
)

// maxHintWork bounds what one compilation spends on the hints to columns
// a source does not have: the characters compared to find a "did you
// mean" (each name against each declared column) and the characters of
// the declared columns listed. Each problem costs as much as its source
// declares, so a file of many misspelled columns over a source of as many
// would take the square of its size; past this, the problems are still
// reported, without a hint. A file of a hundred columns gets hundreds of
// hints.
const maxHintWork = 4 << 20

// columnHint is what a message about column col, which sc's source lacks,
// adds to help: the declared column it likely means, or the declared
// columns. None for a value from the environment (fromEnv): a column
// close to it would tell it.
func (c *compiler) columnHint(sc scope, col string, fromEnv bool) string {
	declared := c.declaredSize(sc.source)
	cost := declared
	if !fromEnv {
		cost += len(col) * declared // config.Suggest: an edit distance per column
	}
	if c.hintWork += cost; c.hintWork > maxHintWork {
		return ""
	}
	if !fromEnv {
		if s := config.Suggest(col, sc.source.Order); s != "" {
			return fmt.Sprintf(" (did you mean %q?)", s)
		}
	}
	return " (columns: " + strings.Join(sc.source.Order, ", ") + ")"
}

// declaredSize is the length of src's declared columns, listed.
func (c *compiler) declaredSize(src *Source) int {
	if n, ok := c.declared[src]; ok {
		return n
	}
	n := 0
	for _, col := range src.Order {
		n += len(col) + len(", ")
	}
	if c.declared == nil {
		c.declared = map[*Source]int{}
	}
	c.declared[src] = n
	return n
}
