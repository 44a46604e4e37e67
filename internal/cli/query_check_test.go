package cli

import (
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestQueryBadRequestBeforeTheWait: with --min-position, a request that
// can never succeed (an id that is no bigint) fails at once as a bad
// request (exit 2), before the read-your-writes wait, which here could
// only end in "position not reached" (no Kafka answers).
func TestQueryBadRequestBeforeTheWait(t *testing.T) {
	_, pgURL := testenv.Postgres(t)
	p := writeConfig(t, storeConfigYAML(`  postgres: { url: "`+pgURL+`" }`, `{ key: "product:{id}" }`))
	code, _, errs := run(t, "query", "-c", p, "--min-position", "products:0/16B3748", "--wait", "30s", "product_view", "not-a-number")
	if code != ExitUsage || strings.Contains(errs, "position") {
		t.Errorf("query of a bad id with --min-position: exit %d, want %d (the id refused before the wait)\n%s", code, ExitUsage, errs)
	}
}
