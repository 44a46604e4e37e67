package rebuild

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// R34bTypeYAML is a view of one column of a source declared as decl.
const R34bTypeYAML = `
version: 1
kafka: { brokers: "localhost:1", group: things }
stores:
  postgres: { url: "${PG}" }
  redis: { url: "${REDIS}" }
sources:
  things:
    topic: shop.public.things
    key: id
    columns: { id: bigint, v: "DECL" }
views:
  thing_view:
    from: things
    fields: { id: id, v: v }
    sinks:
      redis: { key: "${PREFIX}thing:{id}" }
`

// TestR34bFromSourceDeclaredTypes: README, "Column types": "Declare other
// types as what Debezium sends for them: ... timetz as text, interval as
// bigint (microseconds), money as numeric(p,2), bit(1) as boolean". A
// rebuild --from source reads such a (non-key) column from the table and
// must give the document the value the stream gives (README, "--from
// source": only a *key* column of such a type cannot be read, and the
// rebuild then fails saying which). Each row here is a dead letter or
// gets another value than the stream's instead.
func TestR34bFromSourceDeclaredTypes(t *testing.T) {
	for _, c := range []struct {
		pg, decl, value string
		stream          any // the value as Debezium's JSON converter writes it, without schema
	}{
		{"interval", "bigint", `interval '1 hour 2 seconds'`, 3602000000}, // MicroDuration
		{"money", "numeric(10,2)", `1234.5`, 1234.5},                      // decimal.handling.mode=double
		{"bit(1)", "boolean", `B'1'`, true},                               // BOOLEAN
		{"timetz", "text", `'10:11:12+02'`, "08:11:12Z"},                  // ZonedTime, in UTC
	} {
		t.Run(c.pg, func(t *testing.T) {
			ctx := context.Background()
			f := newFixtureYAML(t, strings.Replace(R34bTypeYAML, "DECL", c.decl, 1), "", "")
			d := f.startDaemon()
			defer d.stop()
			// Row 2 as the stream gave it: the document the rebuild's must equal.
			if err := d.process(ctx, []projector.Record{R34bThingRecord(2, c.stream, 100)}); err != nil {
				t.Fatalf("the stream's record: %v", err)
			}
			want := R34bThingValue(t, f, 2)
			srcPool, srcURL := testenv.Postgres(t)
			if _, err := srcPool.Exec(ctx, fmt.Sprintf(`CREATE TABLE public.things (id bigint PRIMARY KEY, v %s);
				INSERT INTO public.things VALUES (1, %s), (2, %s)`, c.pg, c.value, c.value)); err != nil {
				t.Fatal(err)
			}
			res, err := Run(ctx, f.openEnv(), Options{View: "thing_view", From: "source", Keep: 0,
				SourceURLs: map[string]string{"things": srcURL}})
			if err != nil {
				t.Fatalf("rebuild --from source: %v", err)
			}
			if res.DeadLetters != 0 {
				t.Errorf("rebuild --from source of a %s column declared %s: the row is a dead letter", c.pg, c.decl)
			}
			for _, id := range []int64{1, 2} {
				if got := R34bThingValue(t, f, id); got != want {
					t.Errorf("rebuild --from source of a %s column declared %s: document %d has v = %s, want %s (as the stream gives it)", c.pg, c.decl, id, got, want)
				}
			}
		})
	}
}

// R34bThingRecord is a streamed insert of a things row, without schema.
func R34bThingRecord(id int64, v any, lsn int64) projector.Record {
	ev := map[string]any{
		"source": map[string]any{"version": "2.7.3.Final", "connector": "postgresql", "name": "shop",
			"snapshot": "false", "db": "shop", "schema": "public", "table": "things", "txId": lsn, "lsn": lsn},
		"op": "c", "before": nil, "after": map[string]any{"id": id, "v": v}, "transaction": nil,
	}
	b, _ := json.Marshal(ev)
	return projector.Record{Topic: "shop.public.things", Offset: lsn, Key: fmt.Appendf(nil, `{"id":%d}`, id), Value: b}
}

// R34bThingValue is the JSON of field v of document id in Redis.
func R34bThingValue(t *testing.T, f *fixture, id int64) string {
	t.Helper()
	raw, err := f.rdb.Get(context.Background(), fmt.Sprintf("%sthing:%d", f.prefix, id)).Result()
	if err != nil {
		return fmt.Sprintf("<no document: %v>", err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		t.Fatal(err)
	}
	return string(doc["v"])
}
