package rebuild

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// r30nReadingsYAML is a view of a source that declares no columns (the
// whole row is kept, README "A view in YAML"), whose table has a column
// named t — a reading's time, say.
const r30nReadingsYAML = `
version: 1
kafka: { brokers: "localhost:1", group: readings }
stores:
  postgres: { url: "${PG}" }
sources:
  readings:
    topic: shop.public.readings
    key: id
views:
  reading_view:
    from: readings
    fields: { id: id, t: t, v: v }
    sinks:
      postgres: { table: reading_view }
`

func r30nReadingRecord(id int64, t, v string, lsn int64) projector.Record {
	ev := map[string]any{
		"source": map[string]any{"version": "2.7.3.Final", "connector": "postgresql", "name": "shop",
			"snapshot": "false", "db": "shop", "schema": "public", "table": "readings", "txId": lsn, "lsn": lsn},
		"op": "c", "before": nil, "after": map[string]any{"id": id, "t": t, "v": v}, "transaction": nil,
	}
	b, _ := json.Marshal(ev)
	return projector.Record{Topic: "shop.public.readings", Offset: lsn, Key: fmt.Appendf(nil, `{"id":%d}`, id), Value: b}
}

// TestR30nFromSourceColumnNamedT: rebuild --from source reads a source
// without declared columns as `SELECT to_jsonb(t), … FROM "public"."readings" t`
// (internal/rebuild/source.go newSourceQuery). When the table has a
// column named t, PostgreSQL resolves the bare t to that column, not to
// the row (a column name wins over a table alias), so every row read is
// the column's value alone — the query API (internal/query/list.go) writes
// to_jsonb(p.*) for this very reason. The rebuild must read whole rows:
// the documents must hold the source's v.
func TestR30nFromSourceColumnNamedT(t *testing.T) {
	ctx := context.Background()
	f := newFixtureYAML(t, r30nReadingsYAML, "", "")
	d := f.startDaemon()
	srcPool, srcURL := testenv.Postgres(t)
	if _, err := srcPool.Exec(ctx, `CREATE TABLE public.readings (id bigint PRIMARY KEY, t text, v text);
		INSERT INTO public.readings VALUES (1, 'morning', 'new'), (2, 'noon', 'two')`); err != nil {
		t.Fatal(err)
	}
	// The state as a daemon that missed changes left it: row 1 old, row 2 never seen.
	if err := d.process(ctx, []projector.Record{r30nReadingRecord(1, "morning", "old", 100)}); err != nil {
		t.Fatal(err)
	}
	res, err := Run(ctx, f.openEnv(), Options{View: "reading_view", From: "source", Keep: 0,
		SourceURLs: map[string]string{"readings": srcURL}})
	if err != nil {
		t.Fatalf("rebuild --from source: %v", err)
	}
	if res.DeadLetters != 0 {
		t.Errorf("rebuild --from source: %d source rows were dead letters, want 0", res.DeadLetters)
	}
	got := map[int64]string{}
	rows, err := f.pool.Query(ctx, `SELECT id, coalesce(v #>> '{}', '<null>') FROM reading_view`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var v string
		if err := rows.Scan(&id, &v); err != nil {
			t.Fatal(err)
		}
		got[id] = v
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if got[1] != "new" || got[2] != "two" || len(got) != 2 {
		t.Errorf("after rebuild --from source the view holds %v; want map[1:new 2:two] (the source's rows)", got)
	}
}
