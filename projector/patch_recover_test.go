package projector_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

const patchRecoverYAML = `
version: 1
kafka: { brokers: "localhost:9092", group: g }
stores: { postgres: { url: "postgres://unused" } }
sources:
  users: { topic: m.shop.users, key: _id, columns: { _id: text, name: text, email: text, team: text } }
  teams: { topic: m.shop.teams, key: _id, columns: { _id: text, title: text, motto: text } }
  posts: { topic: p.public.posts, key: id, columns: { id: bigint, user_id: text, title: text } }
views:
  user_view:
    from: users
    fields: { id: _id, name: name, email: email, team: { one: teams, on: { _id: team }, column: title } }
    sinks: { postgres: {} }
  team_view:
    from: teams
    fields:
      id: _id
      title: title
      motto: motto
      members: { many: users, on: { team: _id }, order_by: _id, fields: { name: name } }
    sinks: { postgres: {} }
  post_view:
    from: posts
    fields: { id: id, title: title, author: { one: users, on: { _id: user_id }, fields: { name: name, email: email } } }
    sinks: { postgres: {} }
`

func upsert(id string, hi, lo int64, after map[string]any) debezium.Change {
	return debezium.Change{Kind: debezium.KindChange, Op: debezium.OpUpdate, Position: debezium.Position{Hi: hi, Lo: lo},
		Key: map[string]any{"_id": id}, After: after}
}

func patch(id string, hi, lo int64, set map[string]any, unset ...string) debezium.Change {
	return debezium.Change{Kind: debezium.KindChange, Op: debezium.OpUpdate, Position: debezium.Position{Hi: hi, Lo: lo},
		Key: map[string]any{"_id": id}, Patch: &debezium.Patch{Set: set, Unset: unset}}
}

func toasted(id string, hi, lo int64, after map[string]any, unchanged ...string) debezium.Change {
	c := upsert(id, hi, lo, after)
	c.Unchanged = unchanged
	return c
}

// TestPatchesAndMergesStepByStep: MongoDB partial updates and TOAST merges keep
// the stored values, also when a full change and a patch of one key come in
// one batch (two rounds: the plain upsert, then the one that reads the old
// row), on a source whose routes need no old column but the key (teams) and
// on one whose join column is not its key (users). PostgreSQL and memory
// must agree with the expected docs after each step.
func TestPatchesAndMergesStepByStep(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	ctx := context.Background()
	_, plan := loadPlan(t, patchRecoverYAML, nil)
	pgEng, pgSink, memEng, memSink := twinEngines(t, pool, plan)
	type step struct {
		name    string
		source  string
		changes []debezium.Change
		want    map[string]string // "view/id" → canonical fields ("" = deleted)
	}
	steps := []step{
		{"seed teams", "teams", []debezium.Change{
			upsert("t1", 1, 0, map[string]any{"_id": "t1", "title": "Red", "motto": "go"}),
			upsert("t2", 1, 1, map[string]any{"_id": "t2", "title": "Blue", "motto": "stop"}),
		}, map[string]string{
			"team_view/t1": `{"id":"t1","members":[],"motto":"go","title":"Red"}`,
		}},
		{"seed users", "users", []debezium.Change{
			upsert("u1", 2, 0, map[string]any{"_id": "u1", "name": "Ada", "email": "a@x", "team": "t1"}),
			upsert("u2", 2, 1, map[string]any{"_id": "u2", "name": "Ken", "email": "k@x", "team": "t1"}),
		}, map[string]string{
			"user_view/u1": `{"email":"a@x","id":"u1","name":"Ada","team":"Red"}`,
			"team_view/t1": `{"id":"t1","members":[{"name":"Ada"},{"name":"Ken"}],"motto":"go","title":"Red"}`,
		}},
		{"seed posts", "posts", []debezium.Change{
			{Kind: debezium.KindChange, Op: debezium.OpCreate, Position: debezium.Position{Hi: 100},
				Key: map[string]any{"id": int64(1)}, After: map[string]any{"id": int64(1), "user_id": "u1", "title": "hello"}},
		}, map[string]string{
			"post_view/1": `{"author":{"email":"a@x","name":"Ada"},"id":1,"title":"hello"}`,
		}},
		{"full change then patch of one team in one batch", "teams", []debezium.Change{
			upsert("t1", 3, 0, map[string]any{"_id": "t1", "title": "Green", "motto": "run"}),
			patch("t1", 3, 1, map[string]any{"title": "Yellow"}),
		}, map[string]string{
			"team_view/t1": `{"id":"t1","members":[{"name":"Ada"},{"name":"Ken"}],"motto":"run","title":"Yellow"}`,
			"user_view/u1": `{"email":"a@x","id":"u1","name":"Ada","team":"Yellow"}`,
			"user_view/u2": `{"email":"k@x","id":"u2","name":"Ken","team":"Yellow"}`,
		}},
		{"patch of one column keeps the others", "teams", []debezium.Change{
			patch("t1", 4, 0, map[string]any{"motto": "walk"}),
		}, map[string]string{
			"team_view/t1": `{"id":"t1","members":[{"name":"Ada"},{"name":"Ken"}],"motto":"walk","title":"Yellow"}`,
		}},
		{"TOAST merge keeps the stored title", "teams", []debezium.Change{
			toasted("t1", 5, 0, map[string]any{"_id": "t1", "motto": "fly"}, "title"),
		}, map[string]string{
			"team_view/t1": `{"id":"t1","members":[{"name":"Ada"},{"name":"Ken"}],"motto":"fly","title":"Yellow"}`,
			"user_view/u1": `{"email":"a@x","id":"u1","name":"Ada","team":"Yellow"}`,
		}},
		{"an older patch replayed changes nothing", "teams", []debezium.Change{
			patch("t1", 3, 1, map[string]any{"title": "Yellow-old"}),
		}, map[string]string{
			"team_view/t1": `{"id":"t1","members":[{"name":"Ada"},{"name":"Ken"}],"motto":"fly","title":"Yellow"}`,
		}},
		{"user patch: email only", "users", []debezium.Change{
			patch("u1", 6, 0, map[string]any{"email": "b@x"}),
		}, map[string]string{
			"user_view/u1": `{"email":"b@x","id":"u1","name":"Ada","team":"Yellow"}`,
			"post_view/1":  `{"author":{"email":"b@x","name":"Ada"},"id":1,"title":"hello"}`,
		}},
		{"user patch moves the user to another team: both teams recomputed", "users", []debezium.Change{
			patch("u1", 7, 0, map[string]any{"team": "t2"}),
		}, map[string]string{
			"team_view/t1": `{"id":"t1","members":[{"name":"Ken"}],"motto":"fly","title":"Yellow"}`,
			"team_view/t2": `{"id":"t2","members":[{"name":"Ada"}],"motto":"stop","title":"Blue"}`,
			"user_view/u1": `{"email":"b@x","id":"u1","name":"Ada","team":"Blue"}`,
		}},
		{"user patch unsets the team: the old team loses the member", "users", []debezium.Change{
			patch("u2", 8, 0, map[string]any{"name": "Kenneth"}, "team"),
		}, map[string]string{
			"team_view/t1": `{"id":"t1","members":[],"motto":"fly","title":"Yellow"}`,
			"user_view/u2": `{"email":"k@x","id":"u2","name":"Kenneth","team":null}`,
		}},
		{"a team deleted: members lose its title, its doc is deleted", "teams", []debezium.Change{
			{Kind: debezium.KindChange, Op: debezium.OpDelete, Position: debezium.Position{Hi: 9},
				Key: map[string]any{"_id": "t2"}},
		}, map[string]string{
			"team_view/t2": "",
			"user_view/u1": `{"email":"b@x","id":"u1","name":"Ada","team":null}`,
		}},
	}
	for _, s := range steps {
		for _, eng := range []*projector.Engine{pgEng, memEng} {
			if err := eng.ProcessChanges(ctx, s.source, s.changes); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
		}
		for _, e := range []struct {
			label string
			sink  *viewSink
		}{{"postgres", pgSink}, {"memory", memSink}} {
			for k, want := range s.want {
				d, ok := e.sink.docs[k]
				got := ""
				if ok && !d.Deleted {
					got = canonical(t, d.Fields)
				}
				if !ok && want != "" {
					got = "(never written)"
				}
				if got != want {
					t.Errorf("%s, %s: %s\n got  %s\n want %s", s.name, e.label, k, got, want)
				}
			}
		}
	}
	// A patch after a delete has nothing to patch: applied to the key
	// alone it would make a team of only a title. It is refused, and
	// nothing changes.
	for _, eng := range []*projector.Engine{pgEng, memEng} {
		err := eng.ProcessChanges(ctx, "teams", []debezium.Change{patch("t2", 9, 1, map[string]any{"title": "Reborn"})})
		if !errors.Is(err, projector.ErrBadRecord) {
			t.Errorf("a patch after a delete: %v, want ErrBadRecord", err)
		}
	}
	for _, sink := range []*viewSink{pgSink, memSink} {
		if d := sink.docs["team_view/t2"]; !d.Deleted {
			t.Errorf("team t2 after a patch of nothing: %v, want it deleted still", d.Fields)
		}
		if got := canonical(t, sink.docs["user_view/u1"].Fields); got != `{"email":"b@x","id":"u1","name":"Ada","team":null}` {
			t.Errorf("user u1 after a patch of nothing: %s, want its team null still", got)
		}
	}
	compareSinks(t, pgSink, memSink)
}

// failingSink fails every write until healed.
type failingSink struct {
	viewSink
	healed bool
}

func (f *failingSink) Write(ctx context.Context, docs []sinks.Doc) error {
	if !f.healed {
		return errors.New("sink down")
	}
	return f.viewSink.Write(ctx, docs)
}

// TestRecoverAfterCommit: the batch's state and pending docs commit in
// one transaction; when the sink write never happens (a crash after the
// commit), another engine on the same state recovers the docs. The docs
// recovered are recomputed from the state, including fan-out docs. The
// other engine may be a newer version: pending lists an earlier one left
// as jsonb are converted by its Migrate and recovered all the same.
func TestRecoverAfterCommit(t *testing.T) {
	for _, jsonb := range []bool{false, true} {
		t.Run(map[bool]string{false: "json", true: "from jsonb"}[jsonb], func(t *testing.T) { recoverAfterCommit(t, jsonb) })
	}
}

func recoverAfterCommit(t *testing.T, jsonb bool) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, patchRecoverYAML, nil)
	down := &failingSink{viewSink: viewSink{docs: map[string]sinks.Doc{}}}
	eng, err := projector.New(projector.Options{Plan: plan, Pool: pool, MaxBackoff: 10 * time.Millisecond,
		Sinks: []projector.Route{{Sink: down, Views: viewNames(plan)}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err = eng.ProcessChanges(ctx, "teams", []debezium.Change{upsert("t1", 1, 0, map[string]any{"_id": "t1", "title": "Red"})})
	if err == nil {
		t.Fatal("the write to a sink that is down succeeded")
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	_ = eng.ProcessChanges(ctx2, "users", []debezium.Change{upsert("u1", 2, 0, map[string]any{"_id": "u1", "name": "Ada", "team": "t1"})})

	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM projector.pending`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no pending docs after the sink write failed")
	}

	if jsonb { // the table and view as earlier versions created them
		if _, err := pool.Exec(context.Background(), `DROP VIEW projector.pending;
			ALTER TABLE projector.pending_batches ALTER COLUMN docs TYPE jsonb USING docs::jsonb,
				ALTER COLUMN docs SET STORAGE EXTENDED;
			CREATE VIEW projector.pending AS
				SELECT b.id, d->>'view' AS view, d->>'doc_id' AS doc_id, d->'key' AS key, b.created_at
				FROM projector.pending_batches b CROSS JOIN LATERAL jsonb_array_elements(b.docs) d`); err != nil {
			t.Fatal(err)
		}
	}
	up := newViewSink()
	other := newEngine(t, pool, plan, up, nil)
	var typ, storage string
	if err := pool.QueryRow(context.Background(), `SELECT atttypid::regtype::text, attstorage::text FROM pg_attribute
		WHERE attrelid = 'projector.pending_batches'::regclass AND attname = 'docs'`).Scan(&typ, &storage); err != nil {
		t.Fatal(err)
	}
	if typ != "json" || storage != "e" {
		t.Errorf("pending docs stored as %s with storage %s, want json, e (external, uncompressed)", typ, storage)
	}
	if err := other.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"team_view/t1": `{"id":"t1","members":[{"name":"Ada"}],"motto":null,"title":"Red"}`,
		"user_view/u1": `{"email":null,"id":"u1","name":"Ada","team":"Red"}`,
	}
	for k, w := range want {
		d, ok := up.docs[k]
		if !ok || canonical(t, d.Fields) != w {
			t.Errorf("%s after Recover: %v %s, want %s", k, ok, canonical(t, d.Fields), w)
		}
	}
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM projector.pending`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d pending docs left after Recover", n)
	}
}
