package projector

import (
	"context"
	"fmt"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
)

const leftoversHead = `
version: 1
kafka: { brokers: "localhost:9092", group: g }
stores: { postgres: { url: "postgres://unused" } }
sources:
  users: { topic: t.public.users, key: id, columns: { id: bigint, name: text } }
  orders: { topic: t.public.orders, key: id, columns: { id: bigint, user_id: bigint } }
views:
  order_view:
    from: orders
    fields: { id: id, customer: { one: users, on: { id: user_id }, fields: { name: name } } }
    sinks: { postgres: {} }
`

const leftoversUserView = `
  user_view:
    from: users
    fields: { id: id, name: name }
    sinks: { postgres: {} }
`

func leftoversPlan(t *testing.T, yaml string) *projections.Plan {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

// TestValidateNamesPendingAndConflictsOfViewsNoLongerDeclared: the pending
// docs and the docs set aside for a conflict of a view the file no longer
// declares are leftovers, with statements that delete only them; a
// pending row that also holds docs of a declared view is no leftover (the
// next recovery writes those), nor is a state never migrated.
func TestValidateNamesPendingAndConflictsOfViewsNoLongerDeclared(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	ctx := context.Background()
	before := leftoversPlan(t, leftoversHead)
	after := leftoversPlan(t, leftoversHead+leftoversUserView)
	st := &state{pool: pool, schema: "projector"}
	if got, err := st.undeclaredLeftovers(ctx, before); err != nil || len(got) != 0 {
		t.Fatalf("leftovers of a state never migrated: %v, %v", got, err)
	}
	if err := st.migrate(ctx, after); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO projector.pending_batches (docs) VALUES
		('[{"view": "order_view", "doc_id": "1", "key": {"id": 1}}, {"view": "user_view", "doc_id": "1", "key": {"id": 1}}]'),
		('[{"view": "user_view", "doc_id": "2", "key": {"id": 2}}, {"view": "user_view", "doc_id": "3", "key": {"id": 3}}]');
		INSERT INTO projector.conflicts (view, doc_id, key, tries) VALUES
		('user_view', '4', '{"id": 4}', 1), ('order_view', '5', '{"id": 5}', 1)`); err != nil {
		t.Fatal(err)
	}
	if got, err := st.undeclaredLeftovers(ctx, after); err != nil || len(got) != 0 {
		t.Errorf("leftovers for the file that declares every view: %v, %v", got, err)
	}
	got, err := st.undeclaredLeftovers(ctx, before)
	if err != nil {
		t.Fatal(err)
	}
	var what []string
	for _, l := range got {
		what = append(what, l.What)
		if _, err := pool.Exec(ctx, l.Drop); err != nil {
			t.Fatalf("%s: %v", l.Drop, err)
		}
	}
	if want := "[pending list of user_view (2 documents) conflict list of user_view (1 document)]"; fmt.Sprint(what) != want {
		t.Errorf("leftovers = %v, want %s", what, want)
	}
	var pending, conflicts string
	if err := pool.QueryRow(ctx, `SELECT string_agg(view || '/' || doc_id, ' ' ORDER BY id, view, doc_id) FROM projector.pending`).Scan(&pending); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `SELECT string_agg(view || '/' || doc_id, ' ') FROM projector.conflicts`).Scan(&conflicts); err != nil {
		t.Fatal(err)
	}
	if pending != "order_view/1 user_view/1" || conflicts != "order_view/5" {
		t.Errorf("after the statements: pending %q, conflicts %q; want the mixed row and order_view/5 kept", pending, conflicts)
	}
}
