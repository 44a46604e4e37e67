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

// TestByteaKeyStaleDocNotRefused: as TestStaleDocNotRefused, with a
// bytea (or bytea[]) primary key. The doc carries the key as base64 (as
// for any bytea column), which the upsert decodes; the stale check
// (newerSQL) must read the key the same way, or it never finds the stored
// row and reports an older doc, which the rev guard would have skipped, as
// refused.
func TestByteaKeyStaleDocNotRefused(t *testing.T) {
	for _, tt := range []struct {
		typ  string
		key  any
		text string // the stored key, as text
	}{
		{typ: "bytea", key: "AQI=", text: `\x0102`},
		{typ: "bytea[]", key: []any{"AQI=", "/w=="}, text: `{"\\x0102","\\xff"}`},
	} {
		t.Run(tt.typ, func(t *testing.T) {
			pool, _ := testenv.Postgres(t)
			s := newSink(t, pool, View{Name: "bk", Table: "bk", ID: []string{"k"}, Columns: []Column{
				{Name: "k", Type: tt.typ}, {Name: "body", Type: "text"},
			}})
			if _, err := pool.Exec(t.Context(), `ALTER TABLE bk__g1 ADD CONSTRAINT no_forbidden CHECK (body <> 'forbidden')`); err != nil {
				t.Fatal(err)
			}
			note := func(rev int64, body string) sinks.Doc {
				return sinks.Doc{View: "bk", ID: "k", Key: map[string]any{"k": tt.key}, Rev: rev,
					Fields: map[string]any{"k": tt.key, "body": body}}
			}
			if err := s.Write(t.Context(), []sinks.Doc{note(2, "allowed")}); err != nil {
				t.Fatal(err)
			}
			var text string
			if err := pool.QueryRow(t.Context(), `SELECT k::text FROM bk`).Scan(&text); err != nil || text != tt.text {
				t.Fatalf("stored key %s (%v), want %s", text, err, tt.text)
			}
			before := s.Stale()
			if err := s.Write(t.Context(), []sinks.Doc{note(1, "forbidden")}); err != nil {
				t.Fatalf("an older doc that breaks a constraint: %v, want it skipped as stale (the table holds rev 2)", err)
			}
			if s.Stale() != before+1 {
				t.Errorf("stale count %d, want %d", s.Stale(), before+1)
			}
		})
	}
}
