package cli

import (
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestQueryOfAViewNotDeployed: reading a view no projector run has
// deployed to the database says so, not PostgreSQL's "relation does not
// exist".
func TestQueryOfAViewNotDeployed(t *testing.T) {
	_, pgURL := testenv.Postgres(t)
	p := writeConfig(t, storeConfigYAML(`  postgres: { url: "`+pgURL+`" }`, `{ key: "product:{id}" }`))
	code, _, errs := run(t, "query", "-c", p, "product_view")
	if code != ExitFailure || !strings.Contains(errs, "view product_view has no table in PostgreSQL: no projector run has deployed it") || strings.Contains(errs, "SQLSTATE") {
		t.Errorf("query of a view not deployed: exit %d\n%s", code, errs)
	}
}
