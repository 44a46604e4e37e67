package postgres

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks"
)

// TestStaleDocNotRefused: PostgreSQL checks a row's constraints before the
// upsert's rev guard, so a doc older than the stored one that breaks a
// constraint is rejected; it is stale, not refused: the table holds a newer
// version, which a refusal (and its dead letter) would wrongly report lost.
func TestStaleDocNotRefused(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := newSink(t, pool, View{Name: "notes", Table: "notes", ID: []string{"id"}, Columns: []Column{
		{Name: "id", Type: "bigint"}, {Name: "body", Type: "text"},
	}})
	if _, err := pool.Exec(t.Context(), `ALTER TABLE notes__g1 ADD CONSTRAINT no_forbidden CHECK (body <> 'forbidden')`); err != nil {
		t.Fatal(err)
	}
	note := func(rev int64, body string) sinks.Doc {
		return sinks.Doc{View: "notes", ID: "1", Key: map[string]any{"id": json.Number("1")}, Rev: rev,
			Fields: map[string]any{"id": json.Number("1"), "body": body}}
	}
	if err := s.Write(t.Context(), []sinks.Doc{note(2, "allowed")}); err != nil {
		t.Fatal(err)
	}
	before := s.Stale()
	if err := s.Write(t.Context(), []sinks.Doc{note(1, "forbidden")}); err != nil {
		t.Fatalf("an older doc that breaks a constraint: %v, want it skipped as stale", err)
	}
	if s.Stale() != before+1 {
		t.Errorf("stale count %d, want %d", s.Stale(), before+1)
	}
	// Newer than the stored one, it is refused.
	err := s.Write(t.Context(), []sinks.Doc{note(3, "forbidden")})
	var be *sinks.BatchError
	if !errors.As(err, &be) || !errors.Is(be.Failed[0], sinks.ErrRefused) {
		t.Fatalf("a newer doc that breaks a constraint: %v, want a refusal", err)
	}
}
