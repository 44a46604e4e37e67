package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/sinks/postgres"
)

// TestR13cValidateAcceptsFieldTooLongForPostgres: a view's top-level field
// is a column of its PostgreSQL table, and PostgreSQL's identifiers are at
// most 63 bytes. config checks the table (54) and view names (63) for
// it, not field names: validate says ok for a field of 70 bytes, and the
// postgres sink `run` builds refuses the view at start ("name ... is
// longer than 63 bytes", ErrInvalidView).
func TestR13cValidateAcceptsFieldTooLongForPostgres(t *testing.T) {
	long := "status_" + strings.Repeat("x", 63)
	p := r13cESConfig(t, `  v:
    from: orders
    fields: { id: id, `+long+`: status }
    sinks: { postgres: {} }
`)
	// What `run` builds: the postgres sink refuses the column name.
	pool, err := pgxpool.New(context.Background(), "postgres://x@127.0.0.1:1/db") // connects lazily: never here
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := postgres.New(pool, []postgres.View{{Name: "v", Table: "v", Schema: "public",
		Columns: []postgres.Column{{Name: "id", Type: "bigint"}, {Name: long, Type: "text"}}, ID: []string{"id"}}}); err == nil {
		t.Fatal("premise: the postgres sink takes a 70-byte column")
	}
	code, out, errs := run(t, "validate", "-c", p, "--offline")
	if code != ExitUsage || !strings.Contains(errs, p+":14:") || !strings.Contains(errs, "at most 63") {
		t.Errorf("validate: exit %d (%s%s), want 2 naming the field at its line", code, strings.TrimSpace(out), errs)
	}
}
