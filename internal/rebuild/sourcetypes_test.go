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

// debeziumFormsYAML is a view of columns declared as what Debezium sends
// for them (README, "Column types"), arrays of them included.
const debeziumFormsYAML = `
version: 1
kafka: { brokers: "localhost:1", group: forms }
stores:
  postgres: { url: "${PG}" }
  redis: { url: "${REDIS}" }
sources:
  forms:
    topic: shop.public.forms
    key: id
    columns: { id: bigint, iv: bigint, ivs: "bigint[]", ms: "numeric(10,2)[]", bs: "boolean[]", tzs: "text[]", dv: bigint }
views:
  form_view:
    from: forms
    fields: { id: id, iv: iv, ivs: ivs, ms: ms, bs: bs, tzs: tzs, dv: dv }
    sinks:
      redis: { key: "${PREFIX}form:{id}" }
`

// TestFromSourceSendsDebeziumForms: rebuild --from source gives a document
// the values the stream gives it: an interval in microseconds with
// Debezium's month of 30.4375 days (PostgreSQL's extract(epoch) counts
// 30: 2775845500000 here) and its signed hours, minutes and seconds, a
// domain over interval as an interval, and arrays of intervals, money,
// bit(1) and timetz element by element.
func TestFromSourceSendsDebeziumForms(t *testing.T) {
	ctx := context.Background()
	f := newFixtureYAML(t, debeziumFormsYAML, "", "")
	d := f.startDaemon()
	defer d.stop()
	// Row 2 as Debezium's PostgreSQL connector sends it.
	stream := map[string]any{"id": 2, "iv": 2813645500000, "ivs": []any{82800000000, -36572706000007},
		"ms": []any{1.5, -2.0}, "bs": []any{true, false}, "tzs": []any{"08:11:12.5Z", "23:00:00Z"}, "dv": 3602000000}
	if err := d.process(ctx, []projector.Record{formsRecord(stream, 100)}); err != nil {
		t.Fatalf("the stream's record: %v", err)
	}
	want := formsDoc(t, f, 2)
	srcPool, srcURL := testenv.Postgres(t)
	if _, err := srcPool.Exec(ctx, `CREATE DOMAIN span AS interval;
		CREATE TABLE public.forms (id bigint PRIMARY KEY, iv interval, ivs interval[], ms money[], bs bit(1)[], tzs timetz[], dv span);
		INSERT INTO public.forms SELECT id, '1 mon 2 days 03:04:05.5', '{"1 day -01:00:00","-1 year -2 mons +3 days -04:05:06.000007"}',
			'{1.5,-2}', '{1,0}', '{10:11:12.5+02,00:00:00+01}', '1 hour 2 seconds' FROM generate_series(1, 2) id`); err != nil {
		t.Fatal(err)
	}
	res, err := Run(ctx, f.openEnv(), Options{View: "form_view", From: "source", Keep: 0,
		SourceURLs: map[string]string{"forms": srcURL}})
	if err != nil {
		t.Fatalf("rebuild --from source: %v", err)
	}
	if res.DeadLetters != 0 {
		t.Errorf("rebuild --from source: %d rows are dead letters, want 0", res.DeadLetters)
	}
	for _, id := range []int64{1, 2} {
		got := formsDoc(t, f, id)
		for field, w := range want {
			if field != "id" && string(got[field]) != string(w) {
				t.Errorf("document %d: %s = %s, want %s (as the stream gives it)", id, field, got[field], w)
			}
		}
	}
}

// TestFromSourceUndeclaredWideRow: a source that declares no columns is
// read whole, each column as Debezium sends it, however many it has.
func TestFromSourceUndeclaredWideRow(t *testing.T) {
	ctx := context.Background()
	yaml := strings.NewReplacer(`    columns: { id: bigint, iv: bigint, ivs: "bigint[]", ms: "numeric(10,2)[]", bs: "boolean[]", tzs: "text[]", dv: bigint }`+"\n", "",
		"{ id: id, iv: iv, ivs: ivs, ms: ms, bs: bs, tzs: tzs, dv: dv }", "{ id: id, iv: iv, c69: c69 }").Replace(debeziumFormsYAML)
	f := newFixtureYAML(t, yaml, "", "")
	f.startDaemon()
	srcPool, srcURL := testenv.Postgres(t)
	var cols strings.Builder
	for i := range 70 {
		fmt.Fprintf(&cols, ", c%d text DEFAULT 'v%d'", i, i)
	}
	if _, err := srcPool.Exec(ctx, `CREATE TABLE public.forms (id bigint PRIMARY KEY, iv interval`+cols.String()+`);
		INSERT INTO public.forms (id, iv) VALUES (1, '1 hour 2 seconds')`); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(ctx, f.openEnv(), Options{View: "form_view", From: "source", Keep: 0,
		SourceURLs: map[string]string{"forms": srcURL}}); err != nil {
		t.Fatalf("rebuild --from source: %v", err)
	}
	got := formsDoc(t, f, 1)
	if string(got["iv"]) != "3602000000" || string(got["c69"]) != `"v69"` {
		t.Errorf("document 1: iv = %s, c69 = %s, want 3602000000 and \"v69\"", got["iv"], got["c69"])
	}
}

// formsRecord is a streamed insert of a forms row, without schema.
func formsRecord(after map[string]any, lsn int64) projector.Record {
	ev := map[string]any{
		"source": map[string]any{"version": "2.7.3.Final", "connector": "postgresql", "name": "shop",
			"snapshot": "false", "db": "shop", "schema": "public", "table": "forms", "txId": lsn, "lsn": lsn},
		"op": "c", "before": nil, "after": after, "transaction": nil,
	}
	b, _ := json.Marshal(ev)
	return projector.Record{Topic: "shop.public.forms", Offset: lsn, Key: fmt.Appendf(nil, `{"id":%v}`, after["id"]), Value: b}
}

// formsDoc is document id of form_view in Redis, field by field.
func formsDoc(t *testing.T, f *fixture, id int64) map[string]json.RawMessage {
	t.Helper()
	raw, err := f.rdb.Get(context.Background(), fmt.Sprintf("%sform:%d", f.prefix, id)).Result()
	if err != nil {
		t.Fatalf("document %d: %v", id, err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestHstoreText: an hstore declared text is read as the JSON text
// Debezium's json mode sends, a null one as null (not "{}"), an empty one
// as "{}", a null value as JSON null.
func TestHstoreText(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS hstore`); err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]*string{
		`NULL::hstore`:            nil,
		`''::hstore`:              ptr(`{}`),
		`'a=>1, b=>NULL'::hstore`: ptr(`{"a":"1","b":null}`),
		`'"k\"q"=>"v"'::hstore`:   ptr(`{"k\"q":"v"}`),
	} {
		var got *string
		if err := pool.QueryRow(ctx, `SELECT `+hstoreText("x")+` FROM (SELECT `+in+` AS x) t`).Scan(&got); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if (got == nil) != (want == nil) || got != nil && *got != *want {
			t.Errorf("%s: got %v, want %v", in, deref(got), deref(want))
		}
	}
}

func ptr(s string) *string { return &s }

func deref(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}
