package postgres

import (
	"context"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks"
)

// TestR32iMigrateWithoutTemporaryPrivilege: the README asks the
// TEMPORARY privilege of the query database only of a rebuild that
// re-reads its sources through a signal ("the role needs the database's
// TEMPORARY privilege"); `run` migrates its tables at every start and
// `validate` compares them, and neither is said to need it. But the
// comparison of an existing table with the view (migrate.go
// canonicalTypes, from diffTable, for Migrate, Check and Unfit) creates a
// temporary table to let PostgreSQL spell the declared types. Where
// TEMPORARY is revoked (a hardened database: REVOKE TEMPORARY ... FROM
// PUBLIC), the first start creates the table and every later one fails,
// so the daemon cannot start again, and validate reports a problem for
// every view. Here the role owns the table, may create in the schema,
// and Migrate, run a second time with the same definition, must succeed.
func TestR32iMigrateWithoutTemporaryPrivilege(t *testing.T) {
	admin, u := testenv.Postgres(t)
	ctx := t.Context()
	role := testenv.Name("r32i_")
	exec(t, admin, "CREATE ROLE "+role+" LOGIN")
	t.Cleanup(func() {
		ctx := context.Background()
		_, _ = admin.Exec(ctx, "DROP OWNED BY "+role)
		_, _ = admin.Exec(ctx, "DROP ROLE "+role)
	})
	var db string
	if err := admin.QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil {
		t.Fatal(err)
	}
	exec(t, admin, "REVOKE TEMPORARY ON DATABASE "+quote(db)+" FROM PUBLIC")
	exec(t, admin, "CREATE SCHEMA app AUTHORIZATION "+role)

	ru, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	ru.User = url.User(role)
	pool, err := pgxpool.New(ctx, ru.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)

	v := View{Name: "tv", Schema: "app", Table: "tv", ID: []string{"id"}, Columns: []Column{
		{Name: "id", Type: "bigint"}, {Name: "total", Type: "numeric(10,2)"},
	}}
	s := newSink(t, pool, v) // creates the table: no comparison yet
	doc := sinks.Doc{View: "tv", ID: "1", Key: map[string]any{"id": 1}, Rev: 1, Fields: map[string]any{"id": 1, "total": "1.50"}}
	if err := s.Write(ctx, []sinks.Doc{doc}); err != nil {
		t.Fatal(err)
	}

	// The next start: the same definition, an existing table.
	again, err := New(pool, []View{v})
	if err != nil {
		t.Fatal(err)
	}
	if err := again.Migrate(ctx); err != nil {
		t.Errorf("Migrate of an unchanged view by a role without TEMPORARY: %v; want it to succeed, as the first start did", err)
	}
	if err := again.Check(ctx); err != nil {
		t.Errorf("Check (validate) of an unchanged view by a role without TEMPORARY: %v; want no problem", err)
	}
}
