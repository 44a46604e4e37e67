package registry

import (
	"context"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
)

// TestDefinitionsRecordedOnceAtDeployment: Migrate is idempotent; a
// deployment records a view's definition only when none is recorded, and
// a swap's record replaces it.
func TestDefinitionsRecordedOnceAtDeployment(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	ctx := context.Background()
	r := New(pool, "")
	if defs, err := r.Definitions(ctx); err != nil || len(defs) != 0 {
		t.Fatalf("before Migrate: %v, %v; want none", defs, err)
	}
	for range 2 {
		if err := r.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.DeployDefinitions(ctx, []Definition{{View: "v", JSON: []byte(`{"from":"a"}`), Fingerprint: "f1"}}); err != nil {
		t.Fatal(err)
	}
	if err := r.DeployDefinitions(ctx, []Definition{{View: "v", JSON: []byte(`{"from":"b"}`), Fingerprint: "f2"}}); err != nil {
		t.Fatal(err)
	}
	defs, err := r.Definitions(ctx)
	if err != nil || defs["v"].Fingerprint != "f1" || defs["v"].Generation != 1 {
		t.Fatalf("after two deployments: %+v, %v; want the first", defs, err)
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if d, ok, err := r.DefinitionTx(ctx, tx, "v"); err != nil || !ok || string(d.JSON) != `{"from": "a"}` {
		t.Fatalf("DefinitionTx: %+v %v %v", d, ok, err)
	}
	if err := r.RecordDefinitionTx(ctx, tx, Definition{View: "v", JSON: []byte(`{"from":"b"}`), Fingerprint: "f2", Generation: 2}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if defs, err = r.Definitions(ctx); err != nil || defs["v"].Fingerprint != "f2" || defs["v"].Generation != 2 {
		t.Fatalf("after a swap's record: %+v, %v", defs, err)
	}
}

// TestDefinitionsAliased: NoteAliased marks a recorded view's alias as
// seen (new rows start unseen); a row of an earlier version (null) and a
// registry an earlier version made, without the column (validate reads it
// without migrating it), read as seen: those versions looked for a lost
// alias at every start.
func TestDefinitionsAliased(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	ctx := context.Background()
	r := New(pool, "")
	if err := r.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.DeployDefinitions(ctx, []Definition{{View: "v", JSON: []byte(`{}`), Fingerprint: "f"}, {View: "w", JSON: []byte(`{}`), Fingerprint: "f"}}); err != nil {
		t.Fatal(err)
	}
	if err := r.NoteAliased(ctx, []string{"v"}); err != nil {
		t.Fatal(err)
	}
	defs, err := r.Definitions(ctx)
	if err != nil || !defs["v"].Aliased || defs["w"].Aliased {
		t.Fatalf("after noting v: %+v, %v", defs, err)
	}
	if _, err := pool.Exec(ctx, `UPDATE projector.definitions SET es_aliased = NULL, redis_marked = NULL WHERE view = 'w'`); err != nil {
		t.Fatal(err)
	}
	defs, err = r.Definitions(ctx)
	if err != nil || !defs["w"].Aliased || !defs["w"].RedisMarked {
		t.Fatalf("a row of an earlier version: %+v, %v", defs, err)
	}
	if err := r.NoteRedisMarked(ctx, []string{"w"}); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `ALTER TABLE projector.definitions DROP COLUMN es_aliased`); err != nil {
		t.Fatal(err)
	}
	defs, err = r.Definitions(ctx)
	if err != nil || len(defs) != 2 || !defs["v"].Aliased || !defs["w"].Aliased || !defs["w"].RedisMarked {
		t.Fatalf("an earlier version's registry: %+v, %v", defs, err)
	}
}
