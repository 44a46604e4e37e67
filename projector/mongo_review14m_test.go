package projector_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

// r14mRec builds a Debezium 2.7 MongoDB change-streams record of shop.users
// whose key id is keyID (the Extended JSON text Debezium puts in the key).
// before/after are Extended JSON text ("" for null); snapshot is
// source.snapshot.
func r14mRec(op, keyID, before, after string, ud map[string]any, ts, ord int64, snapshot string) projector.Record {
	payload := map[string]any{
		"before": nil, "after": nil,
		"source": map[string]any{"version": "2.7.0.Final", "connector": "mongodb", "name": "m", "ts_ms": ts * 1000,
			"snapshot": snapshot, "db": "shop", "collection": "users", "ord": ord},
		"op": op, "ts_ms": ts*1000 + 1,
	}
	if before != "" {
		payload["before"] = before
	}
	if after != "" {
		payload["after"] = after
	}
	if ud != nil {
		payload["updateDescription"] = ud
	}
	v, _ := json.Marshal(payload)
	k, _ := json.Marshal(map[string]any{"id": keyID})
	return projector.Record{Topic: "m.shop.users", Key: k, Value: v}
}

func r14mUpd(set string, removed []string) map[string]any {
	return map[string]any{"updatedFields": set, "removedFields": removed, "truncatedArrays": nil}
}

type r14mResult struct {
	docs map[string]string // live docs of the view, by id
	dead []string
}

// r14mRun processes recs one per batch through the PostgreSQL state and the
// memory state and returns, per state kind, every live doc and dead letter.
func r14mRun(t *testing.T, cfg string, recs []projector.Record) map[string]r14mResult {
	t.Helper()
	pool, _ := testenv.Postgres(t)
	out := map[string]r14mResult{}
	for _, memory := range []bool{false, true} {
		_, plan := loadPlan(t, cfg, nil)
		mem := &memSink{docs: map[string]sinks.Doc{}}
		var views []string
		for _, v := range plan.Views {
			views = append(views, v.Name)
		}
		eng, err := projector.New(projector.Options{Plan: plan, Pool: pool, Memory: memory,
			Sinks: []projector.Route{{Sink: mem, Views: views}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := eng.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		res := r14mResult{docs: map[string]string{}}
		for i := range recs {
			r := recs[i]
			r.Offset = int64(i)
			dead, err := eng.Process(context.Background(), []projector.Record{r})
			if err != nil {
				t.Fatalf("process: %v", err)
			}
			for _, d := range dead {
				res.dead = append(res.dead, fmt.Sprintf("record %d: %v", i, d.Err))
			}
		}
		for id, d := range mem.docs {
			if !d.Deleted {
				b, _ := json.Marshal(d.Fields)
				res.docs[id] = string(b)
			}
		}
		name := "postgres"
		if memory {
			name = "memory"
		}
		out[name] = res
	}
	return out
}

func r14mShow(r r14mResult) string {
	var ks []string
	for k := range r.docs {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	var b strings.Builder
	for _, k := range ks {
		fmt.Fprintf(&b, "%s => %s; ", k, r.docs[k])
	}
	for _, d := range r.dead {
		fmt.Fprintf(&b, "DEAD %s; ", d)
	}
	return b.String()
}

// r14mWant checks both state kinds against the docs MongoDB holds, and
// that nothing was dead-lettered.
func r14mWant(t *testing.T, got map[string]r14mResult, want map[string]string) {
	t.Helper()
	for _, kind := range []string{"postgres", "memory"} {
		g := got[kind]
		ok := len(g.dead) == 0 && len(g.docs) == len(want)
		for id, w := range want {
			if g.docs[id] != w {
				ok = false
			}
		}
		if !ok {
			w := r14mResult{docs: want}
			t.Errorf("%s state:\n got  %s\n want %s", kind, r14mShow(g), r14mShow(w))
		}
	}
}

const r14mCfg = `
version: 1
kafka: { brokers: "localhost:9092", group: g }
stores: { postgres: { url: "postgres://unused" } }
sources:
  users: { topic: m.shop.users, key: _id }
views:
  user_view:
    from: users
    fields: { id: _id, name: name, a: a }
    sinks: { postgres: {} }
`

const r14mOID = `{"$oid": "6811137d0c9f202a34d861e0"}`

// TestR14mStaleReplayedPatchIsNotDeadLettered: Debezium delivers at least
// once (a connector restart re-emits the events after its last committed
// offset), and DESIGN.md says replays are harmless: a change older than the
// stored position is skipped by the guard. Here the document is
// {a: {x: 1}}; $set {"a.x": 2} (t=1001), then $set {a: [1, 2]} (t=1002);
// both events are then delivered again. MongoDB holds {a: [1, 2]}. The
// replayed t=1001 patch is older than the stored row, so it must be skipped
// as stale; instead jsonb_patch is evaluated against the *current* row
// (where a is now an array), found "not viable", and the valid, stale record
// goes to the dead-letter topic as "an update MongoDB refuses" (with
// errors.tolerance none it would stop the consumer).
func TestR14mStaleReplayedPatchIsNotDeadLettered(t *testing.T) {
	recs := []projector.Record{
		r14mRec("c", r14mOID, "", `{"_id": `+r14mOID+`, "name": "Ada", "a": {"x": 1}}`, nil, 1000, 1, "false"),
		r14mRec("u", r14mOID, "", "", r14mUpd(`{"a.x": 2}`, nil), 1001, 1, "false"),
		r14mRec("u", r14mOID, "", "", r14mUpd(`{"a": [1, 2]}`, nil), 1002, 1, "false"),
		// the connector restarts and re-emits both updates
		r14mRec("u", r14mOID, "", "", r14mUpd(`{"a.x": 2}`, nil), 1001, 1, "false"),
		r14mRec("u", r14mOID, "", "", r14mUpd(`{"a": [1, 2]}`, nil), 1002, 1, "false"),
	}
	r14mWant(t, r14mRun(t, r14mCfg, recs), map[string]string{
		"6811137d0c9f202a34d861e0": `{"a":[1,2],"id":"6811137d0c9f202a34d861e0","name":"Ada"}`,
	})
}

// TestR14mPatchOnNewerSnapshotBaseIsNotDeadLettered: a Debezium MongoDB
// initial snapshot records the stream position first (t=1000 here) and then
// reads the collection; changes made while it reads are streamed after it,
// so the read may already show them. Here {a: {x: 1}} got $set {"a.x": 2}
// at t=1001 and $set {a: [1, 2]} at t=1002 before the snapshot read it: the
// read (position 1000) holds {a: [1, 2]}, then both updates are streamed.
// Every record is valid and MongoDB holds {a: [1, 2]}; the t=1001 patch
// applied to the newer base is "not viable" and is dead-lettered as an
// update MongoDB refuses.
func TestR14mPatchOnNewerSnapshotBaseIsNotDeadLettered(t *testing.T) {
	recs := []projector.Record{
		r14mRec("r", r14mOID, "", `{"_id": `+r14mOID+`, "name": "Ada", "a": [1, 2]}`, nil, 1000, 1, "last"),
		r14mRec("u", r14mOID, "", "", r14mUpd(`{"a.x": 2}`, nil), 1001, 1, "false"),
		r14mRec("u", r14mOID, "", "", r14mUpd(`{"a": [1, 2]}`, nil), 1002, 1, "false"),
	}
	r14mWant(t, r14mRun(t, r14mCfg, recs), map[string]string{
		"6811137d0c9f202a34d861e0": `{"a":[1,2],"id":"6811137d0c9f202a34d861e0","name":"Ada"}`,
	})
}

const r14mDeclCfg = `
version: 1
kafka: { brokers: "localhost:9092", group: g }
stores: { postgres: { url: "postgres://unused" } }
sources:
  users: { topic: m.shop.users, key: _id, columns: { _id: text, name: text, n: integer } }
views:
  user_view:
    from: users
    fields: { id: _id, name: name, n: n }
    sinks: { postgres: {} }
`

// TestR14mPreImageIsNotValidated: with capture.mode
// change_streams_update_full_with_pre_image an update carries the whole new
// document (after) and the old one (before). projector uses only after for
// an update. The document was inserted with n: 4.5 where n is declared
// integer (a dead letter, as the README says), then fixed with $set {n: 6}:
// the update's after is valid and MongoDB holds {name: "Ada", n: 6}. The
// update is dead-lettered anyway ("before.n: expected an integer"), because
// the declared types are checked on the pre-image too, which is never stored
// nor projected, so the fixed document never reaches the view.
func TestR14mPreImageIsNotValidated(t *testing.T) {
	recs := []projector.Record{
		r14mRec("c", r14mOID, "", `{"_id": `+r14mOID+`, "name": "Ada", "n": 4.5}`, nil, 1000, 1, "false"),
		r14mRec("u", r14mOID, `{"_id": `+r14mOID+`, "name": "Ada", "n": 4.5}`, `{"_id": `+r14mOID+`, "name": "Ada", "n": 6}`,
			r14mUpd(`{"n": 6}`, nil), 1001, 1, "false"),
	}
	got := r14mRun(t, r14mDeclCfg, recs)
	want := `{"id":"6811137d0c9f202a34d861e0","n":6,"name":"Ada"}`
	for _, kind := range []string{"postgres", "memory"} {
		g := got[kind]
		if g.docs["6811137d0c9f202a34d861e0"] != want {
			t.Errorf("%s state: got %s\nwant doc %s (only the insert, record 0, dead-lettered)", kind, r14mShow(g), want)
		}
		for _, d := range g.dead {
			if strings.HasPrefix(d, "record 1:") {
				t.Errorf("%s state: the update with a valid after was dead-lettered: %s", kind, d)
			}
		}
	}
}
