package projector_test

import (
	"context"
	"testing"

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
