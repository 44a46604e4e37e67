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
