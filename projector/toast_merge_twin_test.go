package projector_test

import (
	"context"
	"testing"

	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// TestToastMergeKeepsOnlyUnchangedColumns: a TOAST merge keeps the stored
// values of the columns the change marks unchanged, and only those: a
// column the change lacks for another reason (dropped from the table) is
// null, in PostgreSQL and in memory alike, also when the merge follows a
// full change of its key in one batch.
func TestToastMergeKeepsOnlyUnchangedColumns(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	ctx := context.Background()
	_, plan := loadPlan(t, patchRecoverYAML, nil)
	pgEng, pgSink, memEng, memSink := twinEngines(t, pool, plan)
	steps := []struct {
		name    string
		changes []debezium.Change
		want    map[string]string
	}{
		{"seed", []debezium.Change{
			upsert("t1", 1, 0, map[string]any{"_id": "t1", "title": "Red", "motto": "go"}),
			upsert("t2", 1, 1, map[string]any{"_id": "t2", "title": "Blue", "motto": "stop"}),
		}, map[string]string{
			"team_view/t1": `{"id":"t1","members":[],"motto":"go","title":"Red"}`,
			"team_view/t2": `{"id":"t2","members":[],"motto":"stop","title":"Blue"}`,
		}},
		{"merge without motto keeps the title only", []debezium.Change{
			toasted("t1", 2, 0, map[string]any{"_id": "t1"}, "title"),
		}, map[string]string{
			"team_view/t1": `{"id":"t1","members":[],"motto":null,"title":"Red"}`,
		}},
		{"merge of a column no view reads keeps nothing", []debezium.Change{
			toasted("t2", 3, 0, map[string]any{"_id": "t2", "title": "Green"}, "blob"),
		}, map[string]string{
			"team_view/t2": `{"id":"t2","members":[],"motto":null,"title":"Green"}`,
		}},
		{"full change then merge in one batch", []debezium.Change{
			upsert("t1", 4, 0, map[string]any{"_id": "t1", "title": "Yellow", "motto": "run"}),
			toasted("t1", 4, 1, map[string]any{"_id": "t1"}, "motto"),
		}, map[string]string{
			"team_view/t1": `{"id":"t1","members":[],"motto":"run","title":null}`,
		}},
	}
	for _, s := range steps {
		for _, eng := range []*projector.Engine{pgEng, memEng} {
			if err := eng.ProcessChanges(ctx, "teams", s.changes); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
		}
		for label, sink := range map[string]*viewSink{"postgres": pgSink, "memory": memSink} {
			for k, want := range s.want {
				d, ok := sink.docs[k]
				if !ok {
					t.Errorf("%s, %s: %s never written", s.name, label, k)
					continue
				}
				if got := canonical(t, d.Fields); got != want {
					t.Errorf("%s, %s: %s\n got  %s\n want %s", s.name, label, k, got, want)
				}
			}
		}
	}
}
