package rebuild

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
)

// R34aWideYAML is a view copying every one of n declared columns of a wide
// table (a row of many columns, README "A view in YAML").
func R34aWideYAML(n int) string {
	var cols, fields strings.Builder
	for i := range n {
		fmt.Fprintf(&cols, ", c%d: text", i)
		fmt.Fprintf(&fields, ", c%d: c%d", i, i)
	}
	return `
version: 1
kafka: { brokers: "localhost:1", group: wide }
stores:
  postgres: { url: "${PG}" }
sources:
  wide:
    topic: shop.public.wide
    key: id
    columns: { id: bigint` + cols.String() + ` }
views:
  wide_view:
    from: wide
    fields: { id: id` + fields.String() + ` }
    sinks:
      postgres: { table: wide_view }
`
}

// TestR34aFromSourceWideTable: rebuild --from source of a view reading 60
// columns of its source.
func TestR34aFromSourceWideTable(t *testing.T) {
	const n = 60
	ctx := context.Background()
	f := newFixtureYAML(t, R34aWideYAML(n), "", "")
	f.startDaemon()
	srcPool, srcURL := testenv.Postgres(t)
	var ddl, vals strings.Builder
	for i := range n {
		fmt.Fprintf(&ddl, ", c%d text", i)
		fmt.Fprintf(&vals, ", 'v%d'", i)
	}
	if _, err := srcPool.Exec(ctx, `CREATE TABLE public.wide (id bigint PRIMARY KEY`+ddl.String()+`);
		INSERT INTO public.wide VALUES (1`+vals.String()+`)`); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(ctx, f.openEnv(), Options{View: "wide_view", From: "source", Keep: 0,
		SourceURLs: map[string]string{"wide": srcURL}}); err != nil {
		t.Fatalf("rebuild --from source: %v", err)
	}
	var got string
	if err := f.pool.QueryRow(ctx, `SELECT c59 FROM wide_view WHERE id = 1`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != "v59" {
		t.Errorf("c59 = %q, want v59", got)
	}
}
