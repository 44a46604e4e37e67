package query_test

// Cross-store type fidelity. Each test projects one source into four
// views of the same fields, one per store (PostgreSQL: get and list; Redis
// JSON; Redis hash; Elasticsearch, through the in-repo esfake), and reads
// the doc back every way through the query API. README "Querying the read
// store": "Redis, PostgreSQL and Elasticsearch give it as the engine wrote
// it"; DESIGN "Convergence": every store equals the same plain join. So one
// source value must read the same (same value, same JSON type) from every
// store.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/kafkautil"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// fidelityYAML: one source with a column of every type, projected into four
// views of the same fields (PostgreSQL, Redis JSON, Redis hash, ES), as
// crossStoreYAML does.
var fidelityTopics = []string{"app.public.items"}

type fidelity struct {
	*shop
}

func newFidelity(t *testing.T, yaml string) *fidelity {
	return &fidelity{newShop(t, shopOptions{yaml: yaml, topics: fidelityTopics})}
}

func (f *fidelity) put(id int64, r row) int64 {
	r["id"] = id
	return f.write("app.public.items", row{"id": id}, "c", r)
}

func (f *fidelity) wait() {
	f.t.Helper()
	if err := kafkautil.WaitCaughtUp(context.Background(), f.adm, f.cfg.Kafka.Group, 60*time.Second, fidelityTopics...); err != nil {
		f.t.Fatal(err)
	}
}

// reads gives doc id every way through the API, as raw JSON objects
// (numbers as written).
func (f *fidelity) reads(id any, views ...string) map[string]map[string]json.RawMessage {
	t := f.t
	t.Helper()
	if len(views) == 0 {
		views = []string{"f_pg", "f_r", "f_h", "f_es"}
	}
	out := map[string]map[string]json.RawMessage{}
	for _, v := range views {
		paths := map[string]string{}
		switch v[len(v)-2:] {
		case "es":
			paths["search "+v] = fmt.Sprintf("/v1/views/%s/search?min_position=items:0/0&id=%v", v, id)
		case "pg":
			paths["get "+v] = fmt.Sprintf("/v1/views/%s/docs/%v", v, id)
			paths["list "+v] = fmt.Sprintf("/v1/views/%s/docs?id=%v", v, id)
		default:
			paths["get "+v] = fmt.Sprintf("/v1/views/%s/docs/%v", v, id)
		}
		for name, p := range paths {
			st, body := callRaw(t, f.http.URL, p)
			if st != http.StatusOK {
				t.Logf("%s: %d %s", p, st, body)
				continue
			}
			var m map[string]json.RawMessage
			if err := json.Unmarshal([]byte(body), &m); err != nil {
				t.Fatal(err)
			}
			if d, ok := m["docs"]; ok {
				var l []map[string]json.RawMessage
				if err := json.Unmarshal(d, &l); err != nil || len(l) != 1 {
					t.Logf("%s: %s", p, body)
					continue
				}
				m = l[0]
			}
			out[name] = m
		}
	}
	return out
}

// field returns each reading's raw JSON of one field ("(absent)" if absent).
func fieldReads(all map[string]map[string]json.RawMessage, name string) map[string]string {
	out := map[string]string{}
	for k, m := range all {
		if r, ok := m[name]; ok {
			out[k] = string(r)
		} else {
			out[k] = "(absent)"
		}
	}
	return out
}

func dumpReads(t *testing.T, all map[string]map[string]json.RawMessage) string {
	var names []string
	for k := range all {
		names = append(names, k)
	}
	sort.Strings(names)
	fields := map[string]bool{}
	for _, m := range all {
		for k := range m {
			fields[k] = true
		}
	}
	var fl []string
	for k := range fields {
		fl = append(fl, k)
	}
	sort.Strings(fl)
	var b strings.Builder
	for _, fn := range fl {
		vals := fieldReads(all, fn)
		distinct := map[string]bool{}
		for _, v := range vals {
			distinct[v] = true
		}
		mark := "  "
		if len(distinct) > 1 {
			mark = "!!"
		}
		if mark == "  " {
			continue
		}
		fmt.Fprintf(&b, "%s %s:\n", mark, fn)
		for _, n := range names {
			fmt.Fprintf(&b, "     %-14s %s\n", n, vals[n])
		}
	}
	return b.String()
}

func (f *fidelity) esDoc(index string, id any) string {
	res, err := http.Get(fmt.Sprintf("%s/%s/_doc/%v", f.es.URL(), index, id))
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

func (f *fidelity) pgRow(table string, id any) string {
	var s string
	if err := f.pool.QueryRow(context.Background(), fmt.Sprintf(`SELECT to_jsonb(zz)::text FROM %q zz WHERE id = $1`, table), id).Scan(&s); err != nil {
		return "error: " + err.Error()
	}
	return s
}

// deadLetters returns the projector.error headers of the dead-letter topic.
func (f *fidelity) deadLetters() []string {
	f.t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(f.cfg.Kafka.Brokers[0], ",")...), kgo.ConsumeTopics(f.cfg.Kafka.DeadLetterTopic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		f.t.Fatal(err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(context.Background(), f.cfg.Kafka.DeadLetterTopic)
	if err != nil {
		return []string{err.Error()}
	}
	var total int64
	ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
	var out []string
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for int64(len(out)) < total {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			break
		}
		fs.EachRecord(func(r *kgo.Record) {
			var h []string
			for _, x := range r.Headers {
				h = append(h, x.Key+"="+string(x.Value))
			}
			out = append(out, strings.Join(h, " | ")+" || "+string(r.Value))
		})
	}
	return out
}

func (f *fidelity) mongo(oid, doc string, ord int) {
	f.t.Helper()
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	v := `{"before":null,"after":` + q(`{"_id": {"$oid": "`+oid+`"}, `+doc+`}`) +
		`,"updateDescription":null,"source":{"version":"2.7.0.Final","connector":"mongodb","name":"app","ts_ms":1745949565000,"snapshot":"false","db":"shop","collection":"items","ord":` + fmt.Sprint(ord) + `},"op":"c","ts_ms":1745949565830}`
	rec := &kgo.Record{Topic: "app.public.items", Key: []byte(`{"id":` + q(`{"$oid": "`+oid+`"}`) + `}`), Value: []byte(v)}
	if err := f.client.ProduceSync(context.Background(), rec).FirstErr(); err != nil {
		f.t.Fatal(err)
	}
}

// fourViews is a configuration of one source (topic app.public.items) with
// the given columns and key, projected with the given fields into f_pg
// (PostgreSQL), f_r (Redis JSON), f_h (Redis hash) and f_es
// (Elasticsearch). extra is put in each view (e.g. a group_by).
func fourViews(group, key, columns, fields, extra string) string {
	return `
version: 1
kafka: { brokers: "${BROKERS}", group: ` + group + ` }
stores:
  postgres: { url: "${PG}" }
  redis: { url: "${REDIS}" }
  elasticsearch: { url: "${ES}" }
sources:
  items:
    topic: app.public.items
    key: ` + key + `
    columns: ` + columns + `
views:
  f_pg:
    from: items` + extra + `
    fields: &f ` + fields + `
    sinks:
      postgres: { table: f_pg }
  f_r:
    from: items` + extra + `
    fields: *f
    sinks:
      redis: { key: "${PREFIX}r:{id}" }
  f_h:
    from: items` + extra + `
    fields: *f
    sinks:
      redis: { key: "${PREFIX}h:{id}", format: hash }
  f_es:
    from: items` + extra + `
    fields: *f
    sinks:
      elasticsearch: { index: fes }
`
}

// readsEverywhere fails unless field reads want (compact JSON) from every
// store the API reads doc id from; it names each store's reading.
func readsEverywhere(t *testing.T, all map[string]map[string]json.RawMessage, field, want string) {
	t.Helper()
	if len(all) != 5 {
		t.Fatalf("doc read from %d of 5 ways (a store refused it or lacks it): %s", len(all), dumpReads(t, all))
	}
	var bad []string
	for _, name := range []string{"get f_pg", "list f_pg", "get f_r", "get f_h", "search f_es"} {
		got := "(absent)"
		if r, ok := all[name][field]; ok {
			var c bytes.Buffer
			if err := json.Compact(&c, r); err == nil {
				got = c.String()
			} else {
				got = string(r)
			}
		}
		if got != want {
			bad = append(bad, fmt.Sprintf("%s reads %s", name, got))
		}
	}
	if len(bad) > 0 {
		t.Errorf("%s: want %s from every store, but %s", field, want, strings.Join(bad, "; "))
	}
}

// TestTimestampPrecisionSameEverywhere: a time or timestamp value with
// more fractional digits than its column holds (a declared timestamptz(0);
// PostgreSQL's microseconds for an undeclared timestamp, timestamptz or
// time) is rounded by the engine as the PostgreSQL column rounds it
// (PostgreSQL docs, 8.5 Date/Time Types: "time, timestamp, and interval
// accept an optional precision value p which specifies the number of
// fractional digits retained in the seconds field"; the default and
// maximum is 6), as it gives a numeric(p,s) its s decimals: 03:04:05.6
// reads 03:04:06 from every store, and a time 23:59:59.9999999 reads
// 24:00:00.
func TestTimestampPrecisionSameEverywhere(t *testing.T) {
	f := newFidelity(t, fourViews("fidelity-tsprec", "id",
		`{ id: bigint, tz0: "timestamptz(0)", tz: timestamptz, ts: timestamp, tm: time }`,
		`{ id: id, tz0: tz0, tz: tz, ts: ts, tm: tm }`, ""))
	f.put(1, row{"tz0": "2024-01-02T03:04:05.6Z", "tz": "2024-01-02T03:04:05.1234567Z", "ts": "2024-01-02T03:04:05.9999999", "tm": "23:59:59.9999999"})
	f.wait()
	all := f.reads(1)
	readsEverywhere(t, all, "tz0", `"2024-01-02T03:04:06Z"`)
	readsEverywhere(t, all, "tz", `"2024-01-02T03:04:05.123457Z"`)
	readsEverywhere(t, all, "ts", `"2024-01-02T03:04:06Z"`)
	readsEverywhere(t, all, "tm", `"24:00:00"`)
}

// TestMongoDateIntoTimestamp0SameEverywhere: the common case of the
// above: a MongoDB $date carries milliseconds; in a field declared
// timestamp(0) PostgreSQL keeps whole seconds (rounded: .623 -> 21), and
// so does every store: 2023-11-14T22:13:21Z.
func TestMongoDateIntoTimestamp0SameEverywhere(t *testing.T) {
	f := newFidelity(t, fourViews("fidelity-mongots0", "_id",
		`{ _id: text, ts0: "timestamp(0)" }`, `{ id: _id, ts0: ts0 }`, ""))
	f.mongo("65a000000000000000000001", `"ts0": {"$date": 1700000000623}`, 1)
	f.wait()
	readsEverywhere(t, f.reads("65a000000000000000000001"), "ts0", `"2023-11-14T22:13:21Z"`)
}

// TestRealSameEverywhere: a column declared real (float4) holds what
// PostgreSQL's real holds (about 6 significant digits, "real ... 6 decimal
// digits precision", PostgreSQL docs 8.1.3): 3.14159265358979 reads
// 3.1415927 and 16777217 reads 16777216 from every store, as the engine
// rounds a real to float32 and writes its shortest form, as it holds
// smallint/integer to their bits (README "Values PostgreSQL would
// refuse"); so does an expression typed real.
func TestRealSameEverywhere(t *testing.T) {
	f := newFidelity(t, fourViews("fidelity-real", "id",
		`{ id: bigint, r: real, d: "double precision" }`,
		`{ id: id, r: r, big: r, e: { expr: "d", type: real } }`, ""))
	f.put(1, row{"r": json.Number("3.14159265358979"), "d": json.Number("3.14159265358979")})
	f.put(2, row{"r": json.Number("16777217")})
	f.wait()
	all := f.reads(1)
	readsEverywhere(t, all, "r", `3.1415927`)
	readsEverywhere(t, all, "e", `3.1415927`)
	readsEverywhere(t, f.reads(2), "big", `16777216`)
}

// TestFloatAggregatesSameEverywhere: a sum over a double precision or
// real column is the float its PostgreSQL column holds (1e308+0.1+0.2 is
// 1e308 everywhere, not 1000…000.3 in Redis/ES), and beyond float8's range
// (1e308+1e308), where PostgreSQL's sum(float8) errors "value out of
// range: overflow", it is null and counted, as an expression error: no
// store refuses the doc. README: aggregates "behave as SQL's".
func TestFloatAggregatesSameEverywhere(t *testing.T) {
	f := newFidelity(t, fourViews("fidelity-floatagg", "id",
		`{ id: bigint, g: bigint, d: "double precision", r: real }`,
		`{ id: g, sum_d: { agg: sum, of: d }, sum_r: { agg: sum, of: r }, max_r: { agg: max, of: r } }`,
		"\n    group_by: g"))
	f.put(1, row{"g": 1, "d": json.Number("1e308"), "r": json.Number("16777217")})
	f.put(2, row{"g": 1, "d": json.Number("0.1"), "r": json.Number("0.1")})
	f.put(3, row{"g": 1, "d": json.Number("0.2"), "r": json.Number("0.2")})
	f.put(4, row{"g": 2, "d": json.Number("1e308")})
	f.put(5, row{"g": 2, "d": json.Number("1e308")})
	f.wait()
	all := f.reads(1)
	// Whatever the rounding, the stores must agree: compare with PostgreSQL's.
	pg := all["get f_pg"]
	for _, fl := range []string{"sum_d", "sum_r", "max_r"} {
		readsEverywhere(t, all, fl, string(pg[fl]))
	}
	if dl := f.deadLetters(); len(dl) > 0 {
		t.Errorf("group 2 (sum 2e308) refused by one store only: %v", dl)
	}
}

// TestExprTextTimestampNormalized: an expression typed timestamptz or date
// may give a string (the checker accepts it, projections/expr.go fits);
// it is read as the decoder reads the type and written in the engine's
// form (README: "A result is written as a column of its type: a date as
// 2024-01-02 (a timestamp's date in UTC) ... a timestamp in RFC 3339
// UTC"), not as given ("2024-01-02T23:30:00-05:00"), which the
// Elasticsearch date mapping could not parse.
func TestExprTextTimestampNormalized(t *testing.T) {
	f := newFidelity(t, fourViews("fidelity-exprtext", "id",
		`{ id: bigint, t: text }`,
		`{ id: id, e_ts: { expr: "t", type: timestamptz }, e_date: { expr: "t", type: date } }`, ""))
	f.put(1, row{"t": "2024-01-02T23:30:00-05:00"})
	f.wait()
	all := f.reads(1)
	readsEverywhere(t, all, "e_ts", `"2024-01-03T04:30:00Z"`)
	readsEverywhere(t, all, "e_date", `"2024-01-03"`)
}

// TestExprUUIDCanonical: an expression typed uuid giving upper-case text
// is written in canonical form (lower-case 8-4-4-4-12, as the decoder's
// Uuid, README "What it decodes"), as PostgreSQL's uuid column reads it.
func TestExprUUIDCanonical(t *testing.T) {
	f := newFidelity(t, fourViews("fidelity-expruuid", "id",
		`{ id: bigint, u: uuid }`,
		`{ id: id, e_uuid: { expr: "upper(u)", type: uuid } }`, ""))
	f.put(1, row{"u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"})
	f.wait()
	readsEverywhere(t, f.reads(1), "e_uuid", `"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"`)
}

// TestExprNULSameEverywhere: the decoder reads NUL in source strings as
// U+FFFD (README "What it decodes"), and an expression's NUL
// (t + "\u0000") is replaced too, so every store holds U+FFFD, as
// PostgreSQL text/jsonb must (README "The stores").
func TestExprNULSameEverywhere(t *testing.T) {
	f := newFidelity(t, fourViews("fidelity-exprnul", "id",
		`{ id: bigint, t: text }`,
		`{ id: id, e_nul: { expr: "t + '\\u0000'", type: text } }`, ""))
	f.put(1, row{"t": "a"})
	f.wait()
	readsEverywhere(t, f.reads(1), "e_nul", `"a`+"\uFFFD"+`"`)
}

// TestNegativeZeroSameEverywhere: a double precision expression giving -0
// (d * -1.0) reads 0 from every store: the PostgreSQL sink passes values
// through jsonb_to_recordset, whose numeric has no negative zero, so the
// engine writes 0, as the decoder does for source values.
func TestNegativeZeroSameEverywhere(t *testing.T) {
	f := newFidelity(t, fourViews("fidelity-negzero", "id",
		`{ id: bigint, d: "double precision" }`,
		`{ id: id, e: { expr: "d * -1.0", type: "double precision" } }`, ""))
	f.put(1, row{"d": json.Number("0")})
	f.wait()
	all := f.reads(1)
	readsEverywhere(t, all, "e", string(all["get f_pg"]["e"]))
}

// TestFloatTextSameEverywhere: a double precision or real of 1e21 or more,
// or below 1e-6 in magnitude, reads as the same text from every store, the
// text PostgreSQL's to_jsonb gives it: plain digits (its float8 text read
// as a numeric: 1e+21 is 1000000000000000000000, 1e-7 is 0.0000001), not
// encoding/json's exponent form (1e+21, 1e-7). A source value reaches
// every store through the state's jsonb, so it has that text everywhere.
func TestFloatTextSameEverywhere(t *testing.T) {
	floatTextSameEverywhere(t, "fidelity-floattext", `{ id: id, d: d, r: r, ds: ds }`,
		map[string]string{"d": "float8", "r": "float4", "ds": "float8[]"})
}

// TestExprFloatTextSameEverywhere: the same for an expression typed double
// precision or real, whose float the engine computes: Redis and
// Elasticsearch hold encoding/json's 1e+21 and 1e-7 while PostgreSQL's view
// table gives 1000000000000000000000 and 0.0000001.
func TestExprFloatTextSameEverywhere(t *testing.T) {
	floatTextSameEverywhere(t, "fidelity-exprfloattext",
		`{ id: id, e: { expr: "d * 1.0", type: "double precision" }, er: { expr: "d * 1.0", type: real } }`,
		map[string]string{"e": "float8", "er": "float4"})
}

// floatTextSameEverywhere projects doubles of every magnitude into fields
// (double precision d, real r, double precision[] ds as source columns)
// and checks that each field in want (its PostgreSQL type) reads from
// every store as PostgreSQL's to_jsonb writes that value of that type.
func floatTextSameEverywhere(t *testing.T, group, fields string, want map[string]string) {
	f := newFidelity(t, fourViews(group, "id",
		`{ id: bigint, d: "double precision", r: real, ds: "double precision[]" }`, fields, ""))
	vals := []string{"1e21", "1e308", "1e-7", "-1.5e-7", "5e-324", "1e20", "0.000001", "123456789012345678", "2.5", "-0.0"}
	beyondReal := map[string]bool{"1e308": true, "5e-324": true}
	for i, v := range vals {
		r := row{"d": json.Number(v), "ds": []any{json.Number(v), json.Number("1")}}
		if !beyondReal[v] {
			r["r"] = json.Number(v)
		}
		f.put(int64(i+1), r)
	}
	f.wait()
	for i, v := range vals {
		t.Run(v, func(t *testing.T) {
			all := f.reads(i + 1)
			for fl, typ := range want {
				if beyondReal[v] && typ == "float4" {
					continue
				}
				in := v
				if strings.HasSuffix(typ, "[]") {
					in = "{" + v + ",1}"
				}
				var pg string
				if err := f.pool.QueryRow(context.Background(), "SELECT to_jsonb($1::text::"+typ+")::text", in).Scan(&pg); err != nil {
					t.Fatal(err)
				}
				readsEverywhere(t, all, fl, strings.ReplaceAll(pg, " ", ""))
			}
		})
	}
}

// putSchema publishes a row as JsonConverter with schemas does: fields
// maps each column to its Connect schema (with its Debezium logical type),
// after is the payload's row.
func (f *fidelity) putSchema(id int64, fields map[string]string, after string) {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lsn += 8
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names)
	fs := []string{`{"type":"int64","field":"id"}`}
	for _, n := range names {
		fs = append(fs, strings.TrimSuffix(fields[n], "}")+`,"optional":true,"field":"`+n+`"}`)
	}
	rowSchema := `{"type":"struct","optional":true,"name":"app.public.items.Value","fields":[` + strings.Join(fs, ",") + `]`
	schema := `{"type":"struct","name":"app.public.items.Envelope","fields":[` + rowSchema + `,"field":"before"},` + rowSchema + `,"field":"after"},` +
		`{"type":"struct","name":"io.debezium.connector.postgresql.Source","field":"source","fields":[{"type":"int64","field":"lsn"}]},{"type":"string","field":"op"}]}`
	payload := fmt.Sprintf(`{"before":null,"after":{"id":%d,%s},"op":"c","ts_ms":1,"source":{"version":"2.7.3.Final","connector":"postgresql","name":"app","ts_ms":1,"snapshot":"false","db":"app","schema":"public","table":"items","txId":%d,"lsn":%d}}`,
		id, strings.TrimSuffix(strings.TrimPrefix(after, "{"), "}"), f.lsn, f.lsn)
	rec := &kgo.Record{Topic: "app.public.items", Key: []byte(fmt.Sprintf(`{"id":%d}`, id)), Value: []byte(`{"schema":` + schema + `,"payload":` + payload + `}`)}
	if err := f.client.ProduceSync(context.Background(), rec).FirstErr(); err != nil {
		f.t.Fatal(err)
	}
}

// TestDeclaredPrecisionOverLogicalTimesSameEverywhere: with a JSON schema,
// Debezium's time logical types (ZonedTimestamp, MicroTimestamp, MicroTime)
// say the unit of a value, not its column's precision: a column declared
// timestamptz(0), timestamp(p) or time(0) keeps p digits in PostgreSQL,
// and so in every store, as without a schema
// (TestTimestampPrecisionSameEverywhere).
func TestDeclaredPrecisionOverLogicalTimesSameEverywhere(t *testing.T) {
	f := newFidelity(t, fourViews("fidelity-logicalprec", "id",
		`{ id: bigint, zt: "timestamptz(0)", mt: "timestamp(0)", mt2: "timestamp(2)", tm: "time(0)" }`,
		`{ id: id, zt: zt, mt: mt, mt2: mt2, tm: tm }`, ""))
	f.putSchema(1, map[string]string{
		"zt":  `{"type":"string","name":"io.debezium.time.ZonedTimestamp"}`,
		"mt":  `{"type":"int64","name":"io.debezium.time.MicroTimestamp"}`,
		"mt2": `{"type":"int64","name":"io.debezium.time.MicroTimestamp"}`,
		"tm":  `{"type":"int64","name":"io.debezium.time.MicroTime"}`,
	}, `{"zt":"2024-01-02T03:04:05.6Z","mt":1704164645600000,"mt2":1700000000125000,"tm":36000500000}`)
	f.wait()
	if dl := f.deadLetters(); len(dl) > 0 {
		t.Fatalf("dead letters: %v", dl)
	}
	all := f.reads(1)
	readsEverywhere(t, all, "zt", `"2024-01-02T03:04:06Z"`)
	readsEverywhere(t, all, "mt", `"2024-01-02T03:04:06Z"`)
	readsEverywhere(t, all, "mt2", `"2023-11-14T22:13:20.13Z"`)
	readsEverywhere(t, all, "tm", `"10:00:01"`)
}
