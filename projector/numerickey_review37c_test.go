package projector_test

import (
	"strings"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/projector"
)

// TestR37cNumericKeyWrittenAgainAtAnotherScale: `validate` takes a source
// keyed by a `numeric` without a declared scale (`key: id`, `columns: {
// id: numeric }`), whose values keep the scale they came with (README: "its
// values keep the scale they came with"), so the engine's documents "1.0"
// and "1.00" are two documents, with two Redis keys, where PostgreSQL's
// primary key holds one row for both (1.0 = 1.00). A row deleted and
// inserted again at another scale (DELETE … WHERE id = 1.0; INSERT …
// VALUES (1.00, …), or an UPDATE of the key's scale, which Debezium sends
// as a delete and a create) in one batch gives both documents the same
// revision (projector/revisions.go: greatest(rev + 1, clock) and
// greatest(floor + 1, clock), the one statement's clock), and the
// PostgreSQL sink writes them in one statement: it fails on the shared
// key (21000), bisection writes the delete first (id order), and the
// create, at the same revision, is skipped as stale by the rev guard
// (`WHERE t._rev < excluded._rev`). PostgreSQL is left with a tombstone
// while Redis serves the document: the row is lost from the table until
// its next change, with nothing refused or logged.
//
// Expected: every store holds the live document (or `validate` refuses a
// numeric id without a declared scale, as it refuses one for group_by and
// joins, README "2, 2.0 and 2.00 would not match").
//
// Fixed by the refusal (projections/numericid.go): the configuration
// above no longer compiles, so this test asserts that, and runs the
// reviewer's scenario with the scale declared (numeric(12,2), which the
// message asks for), where 1.0 and 1.00 are one document and every store
// holds it.
func TestR37cNumericKeyWrittenAgainAtAnotherScale(t *testing.T) {
	const views = `
views:
  v:
    from: o
    fields:
      id: id
      note: note
    sinks: { postgres: {}, redis: { key: "PREFIXv:{id}" } }
`
	cfg, err := config.Parse("test.yaml", []byte(reviewHead+`
sources:
  o: { topic: t.public.o, key: id, columns: { id: numeric, note: text } }
`+views), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := projections.Compile(cfg); err == nil || !strings.Contains(err.Error(), `id field "id" (column id of source "o") is a numeric without a declared scale`) {
		t.Errorf("a numeric id without a declared scale: %v; want validate to refuse it", err)
	}
	refused, pgText, redisText := r37cBatches(t, `
sources:
  o: { topic: t.public.o, key: id, columns: { id: "numeric(12,2)", note: text } }
`+views, func(r *reviewRig) [][]projector.Record {
		return [][]projector.Record{
			{r.rec("o", "c", m("id", "1.0"), nil, m("id", "1.0", "note", "a"), 0)},
			{r.rec("o", "d", m("id", "1.0"), m("id", "1.0", "note", "a"), nil, 0),
				r.rec("o", "c", m("id", "1.00"), nil, m("id", "1.00", "note", "b"), 0)},
		}
	}, "1.00")
	for _, rf := range refused {
		t.Errorf("store %s refused doc %s: %v", rf.Sink, rf.Doc.ID, rf.Err)
	}
	if redisText == "" {
		t.Fatal("Redis holds no document 1.00 either: the scenario did not run as intended")
	}
	if pgText == "" {
		t.Errorf("PostgreSQL's reader view holds no row for id 1.00 (the table keeps the tombstone of 1.0), Redis holds %s", redisText)
	}
}
