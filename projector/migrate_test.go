package projector_test

import (
	"context"
	"testing"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/internal/testenv"
)

// TestMigrateLeavesRoomForUpdates: the revisions and the state tables keep
// free room in their pages for HOT updates, also when an earlier version
// created them without.
func TestMigrateLeavesRoomForUpdates(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, patchRecoverYAML, nil)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE SCHEMA projector;
		CREATE TABLE projector.revs (view text NOT NULL, doc_id text NOT NULL, rev bigint NOT NULL, PRIMARY KEY (view, doc_id));
		INSERT INTO projector.revs VALUES ('user_view', 'u1', 3)`); err != nil {
		t.Fatal(err)
	}
	newEngine(t, pool, plan, newViewSink(), nil)
	newEngine(t, pool, plan, newViewSink(), nil) // a second start changes nothing
	want := map[string]string{"revs": "{fillfactor=70}", "state_users": "{fillfactor=80}", "state_teams": "{fillfactor=80}", "state_posts": "{fillfactor=80}"}
	for table, opts := range want {
		var got string
		if err := pool.QueryRow(ctx, `SELECT coalesce(reloptions::text, '') FROM pg_class WHERE oid = ('projector.' || $1)::regclass`, table).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != opts {
			t.Errorf("%s options %q, want %q", table, got, opts)
		}
	}
	var rev int64
	if err := pool.QueryRow(ctx, `SELECT rev FROM projector.revs WHERE doc_id = 'u1'`).Scan(&rev); err != nil || rev != 3 {
		t.Errorf("revision kept through the migration: %d, %v; want 3", rev, err)
	}
}

// TestKeyJoinsUseThePrimaryKey: rows joined by their source's only key
// column are found through the state's primary key; the expression index
// an earlier version built on that column is dropped, the others stay, and
// the joins find the same rows.
func TestKeyJoinsUseThePrimaryKey(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	_, plan := loadPlan(t, patchRecoverYAML, nil)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE SCHEMA projector;
		CREATE TABLE projector.state_teams (key text PRIMARY KEY, data jsonb NOT NULL,
			pos_hi bigint NOT NULL, pos_lo bigint NOT NULL, deleted boolean NOT NULL DEFAULT false,
			updated_at timestamptz NOT NULL DEFAULT now());
		CREATE INDEX state_teams__id_idx ON projector.state_teams ((data->>'_id'))`); err != nil {
		t.Fatal(err)
	}
	sink := newViewSink()
	eng := newEngine(t, pool, plan, sink, nil)
	var indexes string
	if err := pool.QueryRow(ctx, `SELECT string_agg(indexname, ' ' ORDER BY indexname) FROM pg_indexes
		WHERE schemaname = 'projector' AND indexname LIKE '%\_idx'`).Scan(&indexes); err != nil {
		t.Fatal(err)
	}
	if want := "state_posts_user_id_idx state_users_team_idx"; indexes != want {
		t.Errorf("join indexes %q, want %q (none on a key column)", indexes, want)
	}
	if err := eng.ProcessChanges(ctx, "teams", []debezium.Change{upsert("t1", 1, 0, map[string]any{"_id": "t1", "title": "Red"})}); err != nil {
		t.Fatal(err)
	}
	if err := eng.ProcessChanges(ctx, "users", []debezium.Change{upsert("u1", 2, 0, map[string]any{"_id": "u1", "name": "Ada", "team": "t1"})}); err != nil {
		t.Fatal(err)
	}
	if err := eng.ProcessChanges(ctx, "posts", []debezium.Change{{Kind: debezium.KindChange, Op: debezium.OpCreate,
		Position: debezium.Position{Hi: 3}, Key: map[string]any{"id": 7}, After: map[string]any{"id": 7, "user_id": "u1", "title": "Hello"}}}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"user_view/u1": `{"email":null,"id":"u1","name":"Ada","team":"Red"}`,
		"post_view/7":  `{"author":{"email":null,"name":"Ada"},"id":7,"title":"Hello"}`,
	}
	for k, w := range want {
		if d, ok := sink.docs[k]; !ok || canonical(t, d.Fields) != w {
			t.Errorf("%s: %v %s, want %s", k, ok, canonical(t, d.Fields), w)
		}
	}
}
