package projector_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

// TestR34iDeepPatchPathIsDeadLetter: the README bounds a MongoDB partial
// update's paths ("The paths are bounded (100 levels, 16 MB in all)"), and
// a record that cannot be projected goes to the dead-letter topic while
// processing continues. The bound is enforced only for a $v: 2 oplog diff
// (debezium.diffInto's maxDiffDepth); a change-streams updatedFields path,
// or a 1.x oplog $set path, of any depth is applied. One of 10,000 levels
// (a 20 KB record) makes jsonb_patch nest the document past PostgreSQL's
// stack ("stack depth limit exceeded"): Process fails, and the consumer
// retries the batch forever, so the partition stalls on that record.
// Such a path must be a dead letter, and the changes after it applied.
func TestR34iDeepPatchPathIsDeadLetter(t *testing.T) {
	deep := "profile" + strings.Repeat(".a", 10_000)
	forms := map[string]projector.Record{
		"change streams updatedFields": r34iUser2x("u", r34iOID, "", "", r34iUD(`{"`+deep+`": 1}`, nil, nil), 1001, 1, "false"),
		"1.x oplog $set": r34iUser1x("u", r34iOID, "", `{"$v": 1, "$set": {"`+deep+`": 1}}`,
			`{"_id": `+r34iOID+`}`, 1001, 1),
	}
	pool, _ := testenv.Postgres(t)
	for form, bad := range forms {
		for _, memory := range []bool{false, true} {
			_, plan := loadPlan(t, r34iNumCfg, nil)
			mem := &memSink{docs: map[string]sinks.Doc{}}
			eng, err := projector.New(projector.Options{Plan: plan, Pool: pool, Memory: memory,
				Sinks: []projector.Route{{Sink: mem, Views: []string{"user_view"}}}})
			if err != nil {
				t.Fatal(err)
			}
			if err := eng.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			recs := []projector.Record{
				r34iUser2x("c", r34iOID, "", `{"_id": `+r34iOID+`, "name": "Ada", "profile": {}}`, nil, 1000, 1, "false"),
				bad,
				r34iUser2x("u", r34iOID, "", "", r34iUD(`{"name": "Eve"}`, nil, nil), 1002, 1, "false"),
			}
			dead := 0
			for i, r := range recs {
				r.Offset = int64(i)
				d, err := eng.Process(context.Background(), []projector.Record{r})
				if err != nil {
					// The consumer retries a failed batch until it passes.
					t.Errorf("%s, memory=%v: record %d fails its batch (retried forever): %v", form, memory, i, err)
				}
				dead += len(d)
			}
			if dead != 1 {
				t.Errorf("%s, memory=%v: %d dead letters, want the deep path's record", form, memory, dead)
			}
			got, _ := json.Marshal(mem.docs[r34iHex].Fields)
			if want := `{"id":"` + r34iHex + `","name":"Eve","profile":{}}`; string(got) != want {
				t.Errorf("%s, memory=%v: doc %.200s, want %s", form, memory, got, want)
			}
		}
	}
}
