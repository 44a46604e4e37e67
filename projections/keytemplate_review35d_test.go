package projections_test

import (
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projections"
)

// TestR35dKeyTemplateSameColumnTwiceInID: a group_by view's id may list two
// fields of one group_by column (viewID compacts the columns: id [uid,
// uid2] maps user_id, as it must). Every document has the same value in
// both, so "stats:{uid}" gives each group its own key; the check added
// for review 35c asks for every id field by name and refuses it, saying
// "documents that differ only in it would share one key", which they
// cannot (validate accepted this file before). The template names every
// id column.
func TestR35dKeyTemplateSameColumnTwiceInID(t *testing.T) {
	const yaml = `version: 1
kafka: { brokers: "localhost:9092" }
stores:
  postgres: { url: "postgres://u@localhost/db" }
  redis: { url: "redis://localhost:6379/0" }
sources:
  orders:
    topic: s.public.orders
    key: id
    columns: { id: bigint, user_id: text, status: text }
views:
  stats:
    from: orders
    group_by: user_id
    id: [uid, uid2]
    fields: { uid: user_id, uid2: { column: user_id, type: text }, n: { agg: count } }
    sinks: { redis: { key: "stats:{uid}" } }
`
	cfg, err := config.Parse("t.yaml", []byte(yaml), lookup)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if _, err := projections.Compile(cfg); err != nil {
		t.Errorf("a key template naming every id column is refused:\n%v", err)
	}
}
