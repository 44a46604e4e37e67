package postgres

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks"
)

// TestR27bPurgeGoesOnPastALostTable: the table of one view is gone
// (dropped behind projector's back: README, "Data lost by a store", the
// daemon keeps running, unready, until a rebuild). The tombstones of the
// other views must still be collected ("Nothing a delete leaves grows
// without bound"); PurgeTombstones (sink.go) returns at the first view
// whose purge fails, so every view listed after the lost one keeps its
// tombstones for as long as the table stays lost.
func TestR27bPurgeGoesOnPastALostTable(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	view := func(name string) View {
		return View{Name: name, Table: name, ID: []string{"id"}, Columns: []Column{{Name: "id", Type: "bigint"}, {Name: "v", Type: "text"}}}
	}
	s := newSink(t, pool, view("lost"), view("kept"))
	var docs []sinks.Doc
	for _, v := range []string{"lost", "kept"} {
		docs = append(docs, sinks.Doc{View: v, ID: "1", Key: map[string]any{"id": json.Number("1")}, Rev: 1, Deleted: true})
	}
	if err := s.Write(t.Context(), docs); err != nil {
		t.Fatal(err)
	}
	exec(t, pool, "UPDATE kept__g1 SET _updated_at = now() - interval '2 hours'")
	exec(t, pool, "DROP TABLE lost__g1 CASCADE")
	_, purgeErr := s.PurgeTombstones(t.Context(), time.Hour)
	var left int
	if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM kept__g1 WHERE _deleted").Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("view kept still holds %d old tombstone(s) after a purge (which returned %v): the lost table of view lost stopped it", left, purgeErr)
	}
}
