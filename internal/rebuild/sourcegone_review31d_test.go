package rebuild

// Review 31d: deleteUnseen (f3fdf01) asks the read's snapshot which of the
// live state rows left below the read's position the source table has,
// their key texts cast as the configuration declares the key columns.

import (
	"context"
	"fmt"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// r31dCodesYAML is a view of a source keyed by a char(5) column, which
// the configuration must declare text ("Debezium sends it padded, as
// PostgreSQL stores it"), with a date column a source row can hold in a
// value the decoder refuses (a BC date).
const r31dCodesYAML = `
version: 1
kafka: { brokers: "localhost:1", group: codes }
stores:
  postgres: { url: "${PG}" }
sources:
  codes:
    topic: shop.public.codes
    key: code
    columns: { code: text, day: date }
views:
  code_view:
    from: codes
    fields: { code: code, day: day }
    sinks:
      postgres: { table: code_view }
`

// TestR31dSourceKeepsDeadLetterOfCharKey: the stream put code "ab   " (a
// char(5), padded as Debezium sends it) in the state; the source now
// holds it with a BC date, so the rebuild's read is a dead letter and the
// state row stays below the read's position. has compares t.code (bpchar)
// with the parameter cast ::text::text: bpchar = text drops the pad, 'ab'
// <> 'ab   ', and the row the source has is deleted from the state and
// the view.
func TestR31dSourceKeepsDeadLetterOfCharKey(t *testing.T) {
	f := newFixtureYAML(t, r31dCodesYAML, "", "")
	d := f.startDaemon()
	ctx := context.Background()
	srcPool, srcURL := testenv.Postgres(t)
	if _, err := srcPool.Exec(ctx, `CREATE TABLE public.codes (code char(5) PRIMARY KEY, day date);
		INSERT INTO public.codes VALUES ('ab', '0044-03-15 BC'), ('cd', '2024-01-02')`); err != nil {
		t.Fatal(err)
	}
	var recs []projector.Record
	for i, code := range []string{"ab   ", "cd   "} {
		recs = append(recs, projector.Record{Topic: "shop.public.codes", Offset: int64(i + 1), Key: fmt.Appendf(nil, `{"code":%q}`, code),
			Value: fmt.Appendf(nil, `{"op":"c","source":{"connector":"postgresql","lsn":%d},"after":{"code":%q,"day":19724}}`, 100+i, code)})
	}
	if err := d.process(ctx, recs); err != nil {
		t.Fatal(err)
	}
	res, err := Run(ctx, f.openEnv(), Options{View: "code_view", From: "source", Keep: 0,
		SourceURLs: map[string]string{"codes": srcURL}})
	if err != nil {
		t.Fatalf("rebuild --from source: %v", err)
	}
	var live int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM projector.state_codes WHERE NOT deleted`).Scan(&live); err != nil {
		t.Fatal(err)
	}
	if res.DeadLetters != 1 || res.SourceDeleted != 0 || live != 2 {
		t.Errorf("rebuild --from source: %d dead letters, %d state rows deleted, %d live; want 1 (ab), 0 and 2: the source has both rows",
			res.DeadLetters, res.SourceDeleted, live)
	}
}

const r31dPairsYAML = `
version: 1
kafka: { brokers: "localhost:1", group: pairs }
stores:
  postgres: { url: "${PG}" }
sources:
  pairs:
    topic: shop.public.pairs
    key: [a, b]
    columns: { a: bigint, b: bigint }
views:
  pair_view:
    from: pairs
    fields: { a: a, b: b }
    sinks:
      postgres: { table: pair_view }
`

// r31dMoodsYAML is a view of a source keyed by a PostgreSQL enum, which
// the configuration declares text (Debezium sends an enum as its label).
const r31dMoodsYAML = `
version: 1
kafka: { brokers: "localhost:1", group: moods }
stores:
  postgres: { url: "${PG}" }
sources:
  moods:
    topic: shop.public.moods
    key: mood
    columns: { mood: text, n: bigint }
views:
  mood_view:
    from: moods
    fields: { mood: mood, n: n }
    sinks:
      postgres: { table: mood_view }
`

// TestR31dSourceReadsEnumKey: a source keyed by an enum column declared
// text. The key parameters are cast as declared (::text::text) and
// compared with the column as it is (t.mood, an enum): enum > text (the
// read's next page) and enum = text (has) have no operator, so the
// rebuild fails instead of reading the table and deleting the row gone.
func TestR31dSourceReadsEnumKey(t *testing.T) {
	f := newFixtureYAML(t, r31dMoodsYAML, "", "")
	d := f.startDaemon()
	ctx := context.Background()
	srcPool, srcURL := testenv.Postgres(t)
	if _, err := srcPool.Exec(ctx, `CREATE TYPE r31d_mood AS ENUM ('sad', 'happy', 'gone');
		CREATE TABLE public.moods (mood r31d_mood PRIMARY KEY, n bigint);
		INSERT INTO public.moods VALUES ('sad', 1), ('happy', 2)`); err != nil {
		t.Fatal(err)
	}
	var recs []projector.Record
	for i, m := range []string{"sad", "happy", "gone"} {
		recs = append(recs, projector.Record{Topic: "shop.public.moods", Offset: int64(i + 1), Key: fmt.Appendf(nil, `{"mood":%q}`, m),
			Value: fmt.Appendf(nil, `{"op":"c","source":{"connector":"postgresql","lsn":%d},"after":{"mood":%q,"n":%d}}`, 100+i, m, i+1)})
	}
	if err := d.process(ctx, recs); err != nil {
		t.Fatal(err)
	}
	res, err := Run(ctx, f.openEnv(), Options{View: "mood_view", From: "source", Keep: 0,
		SourceURLs: map[string]string{"moods": srcURL}})
	if err != nil {
		t.Fatalf("rebuild --from source of a source keyed by an enum: %v", err)
	}
	if res.SourceRows != 2 || res.SourceDeleted != 1 {
		t.Errorf("rebuild --from source: read %d rows, deleted %d; want 2 and 1 (gone)", res.SourceRows, res.SourceDeleted)
	}
}
