package projector_test

// Edge cases of the projection engine (found by a review), each run on the
// PostgreSQL state and on the memory state, checked against the documents a
// plain join over the final source rows gives (written out by hand).

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/projector"
)

const reviewHead = `
version: 1
kafka: { brokers: "localhost:9092", group: g }
stores: { postgres: { url: "postgres://unused" } }
`

// reviewRig runs the same records through an engine on PostgreSQL and one in
// memory.
type reviewRig struct {
	t       *testing.T
	plan    *projections.Plan
	engines map[string]*projector.Engine
	sinks   map[string]*viewSink
	lsn     int64
	offset  int64
}

func newReviewRig(t *testing.T, yaml string, withPG bool) *reviewRig {
	t.Helper()
	_, plan := loadPlan(t, reviewHead+yaml, nil)
	r := &reviewRig{t: t, plan: plan, engines: map[string]*projector.Engine{}, sinks: map[string]*viewSink{}, lsn: 100}
	memSink := newViewSink()
	mem, err := projector.New(projector.Options{Plan: plan, Memory: true,
		Sinks: []projector.Route{{Sink: memSink, Views: viewNames(plan)}}})
	if err != nil {
		t.Fatal(err)
	}
	r.engines["memory"], r.sinks["memory"] = mem, memSink
	if withPG {
		pool, _ := testenv.Postgres(t)
		pgSink := newViewSink()
		r.engines["postgres"], r.sinks["postgres"] = newEngine(t, pool, plan, pgSink, nil), pgSink
	}
	return r
}

// rec is a schemaless Debezium PostgreSQL record of topic t.public.<table>
// at the next LSN (or at lsn when it is not 0).
func (r *reviewRig) rec(table, op string, key, before, after map[string]any, lsn int64) projector.Record {
	if lsn == 0 {
		r.lsn += 10
		lsn = r.lsn
	}
	r.offset++
	return projector.Record{Topic: "t.public." + table, Offset: r.offset,
		Key: must(json.Marshal(key)), Value: envelope(table, op, before, after, lsn)}
}

// process applies the batches, in order, to every engine.
func (r *reviewRig) process(batches ...[]projector.Record) {
	r.t.Helper()
	for name, eng := range r.engines {
		for _, b := range batches {
			dead, err := eng.Process(context.Background(), b)
			if err != nil {
				r.t.Fatalf("%s: %v", name, err)
			}
			for _, d := range dead {
				r.t.Fatalf("%s: dead letter: %v", name, d.Err)
			}
		}
	}
}

// expect checks, on every engine, the docs of a view: id → fields as JSON
// (a subset of the doc's fields); "" for a deleted or never written doc.
func (r *reviewRig) expect(view string, want map[string]string) {
	r.t.Helper()
	for name, s := range r.sinks {
		s.mu.Lock()
		for id, w := range want {
			d, ok := s.docs[view+"/"+id]
			if w == "" {
				if ok && !d.Deleted {
					r.t.Errorf("%s: %s/%s = %s, want no document", name, view, id, canonical(r.t, d.Fields))
				}
				continue
			}
			if !ok || d.Deleted {
				r.t.Errorf("%s: %s/%s missing, want %s", name, view, id, w)
				continue
			}
			var wm map[string]any
			if err := json.Unmarshal([]byte(w), &wm); err != nil {
				r.t.Fatal(err)
			}
			got := map[string]any{}
			for k := range wm {
				got[k] = d.Fields[k]
			}
			if g, e := normJSON(r.t, got), normJSON(r.t, wm); g != e {
				r.t.Errorf("%s: %s/%s:\n got  %s\n want %s", name, view, id, g, e)
			}
		}
		s.mu.Unlock()
	}
}

// expectOnly checks that the live docs of a view are exactly want's keys.
func (r *reviewRig) expectOnly(view string, ids ...string) {
	r.t.Helper()
	for name, s := range r.sinks {
		s.mu.Lock()
		var live []string
		for k, d := range s.docs {
			if strings.HasPrefix(k, view+"/") && !d.Deleted {
				live = append(live, strings.TrimPrefix(k, view+"/"))
			}
		}
		s.mu.Unlock()
		if fmt.Sprint(sortedStrings(live)) != fmt.Sprint(sortedStrings(ids)) {
			r.t.Errorf("%s: live docs of %s = %q, want %q", name, view, sortedStrings(live), sortedStrings(ids))
		}
	}
}

func sortedStrings(s []string) []string {
	out := append([]string{}, s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// normJSON renders a value as JSON with numbers compared by value.
func normJSON(t *testing.T, v any) string {
	t.Helper()
	b := must(json.Marshal(v))
	var x any
	if err := json.Unmarshal(b, &x); err != nil {
		t.Fatal(err)
	}
	return string(must(json.Marshal(x)))
}

func m(kv ...any) map[string]any {
	out := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// Rows keyed by a date, a time of day or bytea (alone or in a composite
// key) never get a document: the state key is rendered from the decoded
// key values (debezium.Date, TimeOfDay, []byte), which text() renders
// through json.Marshal, quotes included ("\"2022-01-08\""), while the
// document id comes from the stored row (2022-01-08).
func TestEngineDateTimeByteaKeys(t *testing.T) {
	r := newReviewRig(t, `
sources:
  days: { topic: t.public.days, format: json, key: [day], columns: { day: date, v: text } }
  slots: { topic: t.public.slots, format: json, key: [at], columns: { at: time(3), v: text } } # in ms
  blobs: { topic: t.public.blobs, format: json, key: [h], columns: { h: bytea, v: text } }
  stats: { topic: t.public.stats, format: json, key: [store, day], columns: { store: bigint, day: date, v: text } }
views:
  day_view: { from: days, fields: { day: day, v: v }, sinks: { postgres: {} } }
  slot_view: { from: slots, fields: { at: at, v: v }, sinks: { postgres: {} } }
  blob_view: { from: blobs, fields: { h: h, v: v }, sinks: { postgres: {} } }
  stat_view: { from: stats, fields: { store: store, day: day, v: v }, sinks: { postgres: {} } }
`, true)
	r.process([]projector.Record{
		r.rec("days", "c", m("day", 19000), nil, m("day", 19000, "v", "d"), 0),
		r.rec("slots", "c", m("at", 3600000), nil, m("at", 3600000, "v", "t"), 0),
		r.rec("blobs", "c", m("h", "AQID"), nil, m("h", "AQID", "v", "b"), 0),
		r.rec("stats", "c", m("store", 1, "day", 19000), nil, m("store", 1, "day", 19000, "v", "s"), 0),
	})
	r.expect("day_view", map[string]string{"2022-01-08": `{"day":"2022-01-08","v":"d"}`})
	r.expect("slot_view", map[string]string{"01:00:00": `{"v":"t"}`})
	r.expect("blob_view", map[string]string{"AQID": `{"v":"b"}`})
	r.expect("stat_view", map[string]string{`["1","2022-01-08"]`: `{"v":"s"}`})
	// And a delete of such a row reaches the document.
	r.process([]projector.Record{
		r.rec("days", "d", m("day", 19000), m("day", 19000), nil, 0),
	})
	r.expect("day_view", map[string]string{"2022-01-08": ""})
}

// A key longer than a btree entry can hold (about 2.7 kB once compressed)
// fails the state upsert with SQLSTATE 54000, so the whole batch fails, and
// `projector run` retries it forever: one record stalls every partition of
// the batch instead of being projected or dead-lettered.
func TestEngineOversizedKeyDoesNotStallBatch(t *testing.T) {
	r := newReviewRig(t, `
sources:
  a: { topic: t.public.a, format: json, key: [k], columns: { k: text, v: text } }
views:
  av: { from: a, fields: { k: k, v: v }, sinks: { postgres: {} } }
`, true)
	b := make([]byte, 3000)
	x := uint32(2463534242)
	for i := range b { // incompressible, deterministic
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte('a' + x%26)
	}
	long := string(b)
	for name, eng := range r.engines {
		dead, err := eng.Process(context.Background(), []projector.Record{
			r.rec("a", "c", m("k", long), nil, m("k", long, "v", "long"), 0),
			r.rec("a", "c", m("k", "short"), nil, m("k", "short", "v", "x"), 0),
		})
		if err != nil {
			t.Fatalf("%s: the batch fails (and is retried forever by the consumer): %v", name, err)
		}
		if d, ok := r.sinks[name].docs["av/"+long]; (!ok || d.Deleted) && len(dead) == 0 {
			t.Errorf("%s: the long-keyed record was neither projected nor dead-lettered", name)
		}
	}
	r.expect("av", map[string]string{"short": `{"v":"x"}`})
}

// DocIDs ("" starts at the beginning) lists ids strictly after the cursor,
// so a document whose id is the empty string (an empty text key, or a group
// of rows whose group_by column is empty) was never listed: `projector rebuild`
// leaves it out of the new generation, whose swap (and Redis sweep) then
// drops it from every store.
func TestEngineDocIDsListEmptyID(t *testing.T) {
	r := newReviewRig(t, `
sources:
  o: { topic: t.public.o, format: json, key: [code], columns: { code: text, st: text } }
views:
  ov: { from: o, fields: { code: code, st: st }, sinks: { postgres: {} } }
  gv: { from: o, group_by: st, fields: { st: st, n: { agg: count } }, sinks: { postgres: {} } }
`, true)
	r.process([]projector.Record{
		r.rec("o", "c", m("code", ""), nil, m("code", "", "st", ""), 0),
		r.rec("o", "c", m("code", "a"), nil, m("code", "a", "st", "a"), 0),
	})
	// The live pipeline has both documents of each view...
	r.expect("ov", map[string]string{"": `{"st":""}`, "a": `{"st":"a"}`})
	r.expect("gv", map[string]string{"": `{"n":1}`, "a": `{"n":1}`})
	// ...and a rebuild must list both.
	for name, eng := range r.engines {
		for _, v := range []string{"ov", "gv"} {
			all := map[string]bool{}
			after := ""
			for range 10 {
				ids, last, err := eng.DocIDs(context.Background(), v, after, 1)
				if err != nil {
					t.Fatal(err)
				}
				for id := range ids {
					all[id] = true
				}
				if last == "" {
					break
				}
				after = last
			}
			if !all[""] || !all["a"] || len(all) != 2 {
				t.Errorf("%s: DocIDs of %s lists %q, want both \"\" and \"a\"", name, v, sortedStrings(keysOf(all)))
			}
		}
	}
}

func keysOf(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
