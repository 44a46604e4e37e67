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

// R34fTypeYAML is a view of one column v of a source, declared as DECL.
const R34fTypeYAML = `
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

// TestR34fFromSourceAsDebeziumSends: README, "Column types": rebuild
// --from source reads a column "as the connector sends it, whatever it is
// declared as: an interval as its microseconds ..., arrays of them element
// by element, a domain as its base type". Debezium resolves a domain to
// its root type (PostgresType.getRootType walks every level, and the
// pgoutput relation's columns take its OID), so a domain over a domain
// over interval is sent as a MicroDuration as a plain interval is. An
// interval with a fraction of seconds must be cut as the connector cuts it. And a column declared
// text "keeps the text Debezium sent ...: an hstore's JSON" (README, What
// it decodes), where the rebuild gives the hstore as an embedded object.
// Row 2 is streamed as Debezium sends it; the rebuild must give both rows
// the same value.
func TestR34fFromSourceAsDebeziumSends(t *testing.T) {
	for _, c := range []struct {
		name, setup, pg, decl, value string
		stream                       any // the value as Debezium's JSON converter writes it, without schema
	}{
		{"domain over a domain over interval", `CREATE DOMAIN r34f_span AS interval; CREATE DOMAIN r34f_span2 AS r34f_span;`,
			"r34f_span2", "bigint", `interval '1 hour 2 seconds'`, 3602000000},
		// pgjdbc's PGInterval keeps whole seconds and microseconds apart
		// and gives getSeconds() as wholeSeconds + micros / 1e6, which
		// Debezium's MicroDuration.durationMicros multiplies by 1e6 and
		// cuts: 1.003691 s is sent as 1003690, where the rebuild's
		// extract(second) gives the nearest double of 1.003691 (1003691).
		{"interval with a fraction of seconds", "", "interval", "bigint", `interval '00:00:01.003691'`,
			R34fDebeziumMicros(0, 0, 0, 0, 0, 1, 3691)},
		{"hstore declared text", `CREATE EXTENSION IF NOT EXISTS hstore;`,
			"hstore", "text", `'a=>1'::hstore`, `{"a":"1"}`}, // io.debezium.data.Json, hstore.handling.mode=json
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixtureYAML(t, strings.Replace(R34fTypeYAML, "DECL", c.decl, 1), "", "")
			d := f.startDaemon()
			defer d.stop()
			if err := d.process(ctx, []projector.Record{R34fThingRecord(2, c.stream, 100)}); err != nil {
				t.Fatalf("the stream's record: %v", err)
			}
			want := R34fThingValue(t, f, 2)
			srcPool, srcURL := testenv.Postgres(t)
			if _, err := srcPool.Exec(ctx, c.setup+fmt.Sprintf(`CREATE TABLE public.things (id bigint PRIMARY KEY, v %s);
				INSERT INTO public.things VALUES (1, %s), (2, %s)`, c.pg, c.value, c.value)); err != nil {
				t.Fatal(err)
			}
			res, err := Run(ctx, f.openEnv(), Options{View: "thing_view", From: "source", Keep: 0,
				SourceURLs: map[string]string{"things": srcURL}})
			if err != nil {
				t.Fatalf("rebuild --from source: %v", err)
			}
			if res.DeadLetters != 0 {
				t.Errorf("rebuild --from source of a %s column declared %s: %d rows are dead letters, want 0", c.pg, c.decl, res.DeadLetters)
			}
			for _, id := range []int64{1, 2} {
				if got := R34fThingValue(t, f, id); got != want {
					t.Errorf("rebuild --from source of a %s column declared %s: document %d has v = %s, want %s (as the stream gives it)", c.pg, c.decl, id, got, want)
				}
			}
		})
	}
}

// R34fDebeziumMicros is what Debezium's PostgreSQL connector sends for an
// interval of those fields (interval.handling.mode=numeric): pgjdbc's
// PGInterval.getSeconds() (wholeSeconds + (double) microSeconds / 1e6) fed
// to MicroDuration.durationMicros with DAYS_PER_MONTH_AVG, in Java's double
// operations and (long) cast.
func R34fDebeziumMicros(years, months, days, hours, minutes, wholeSeconds, microSeconds int) int64 {
	seconds := float64(wholeSeconds) + float64(microSeconds)/1e6
	numberOfDays := float64(years*12+months)*(365.25/12.0) + float64(days)
	numberOfSeconds := ((numberOfDays*24+float64(hours))*60+float64(minutes))*60 + seconds
	return int64(numberOfSeconds * 1e6)
}

// R34fThingRecord is a streamed insert of a things row, without schema.
func R34fThingRecord(id int64, v any, lsn int64) projector.Record {
	ev := map[string]any{
		"source": map[string]any{"version": "2.7.3.Final", "connector": "postgresql", "name": "shop",
			"snapshot": "false", "db": "shop", "schema": "public", "table": "things", "txId": lsn, "lsn": lsn},
		"op": "c", "before": nil, "after": map[string]any{"id": id, "v": v}, "transaction": nil,
	}
	b, _ := json.Marshal(ev)
	return projector.Record{Topic: "shop.public.things", Offset: lsn, Key: fmt.Appendf(nil, `{"id":%d}`, id), Value: b}
}

// R34fThingValue is the JSON of field v of document id in Redis.
func R34fThingValue(t *testing.T, f *fixture, id int64) string {
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
