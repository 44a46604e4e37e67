package rebuild

// Review 31c: rebuild --from source (7d62a13) no longer keeps the keys it
// read; it takes every live state row left below the snapshot's position
// S, once the read is applied, as gone from the source. Two ways a row the
// source has is left below S, and so deleted from the state and every
// view, where the set of keys read kept it.

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// r31cItemEvent is a Debezium PostgreSQL event of item id at lsn, without
// source.sequence: an initial snapshot's read (snapshot "true") or a
// streamed update.
func r31cItemEvent(id int64, it *item, lsn int64, initial bool) []byte {
	op, snap := "u", "false"
	if initial {
		op, snap = "r", "true"
	}
	ev := map[string]any{
		"source": map[string]any{"version": "2.7.3.Final", "connector": "postgresql", "name": "shop",
			"ts_ms": time.Now().UnixMilli(), "snapshot": snap, "db": "shop", "schema": "public", "table": "items", "lsn": lsn},
		"op": op, "before": nil, "after": map[string]any{"id": id, "name": it.Name, "qty": it.Qty},
		"transaction": nil, "ts_ms": time.Now().UnixMilli(),
	}
	b, _ := json.Marshal(ev)
	return b
}

// TestR31cSourceKeepsReadRowAnInitialSnapshotMovedBelowS: positions do go
// back. While a rebuild --from source reads items 1..120 at S (--chunk 50,
// --workers 1), a connector that was just (re)created snapshots the table
// at H > S while a transaction T that updated item 5 before S is still
// open; T commits, then the rebuild's read snapshot is taken (it waited
// for T) and reads item 5 as T left it. Once the first page is applied,
// the daemon applies what the connector sent: its initial snapshot's read
// of item 5 at H (as before T; Lo -1), which replaces the rebuild's read
// (H > S), then T's update, streamed with no committed LSN at its own LSN
// P < S, which replaces an initial snapshot's read whatever the LSNs
// (debezium.Position.Replaces). Item 5 now holds the source's row again,
// at P < S: deleteUnseen takes it for a row gone and deletes it.
func TestR31cSourceKeepsReadRowAnInitialSnapshotMovedBelowS(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	ctx := context.Background()
	srcPool, srcURL := testenv.Postgres(t)
	if _, err := srcPool.Exec(ctx, `CREATE TABLE public.items (id bigint PRIMARY KEY, name text, qty bigint);
		CREATE TABLE public.other (n bigint);
		INSERT INTO public.items SELECT g, 'item-' || g, g FROM generate_series(1, 120) g`); err != nil {
		t.Fatal(err)
	}
	source := f.seed(d, 1, 120)
	var hookErr error
	hook := &phaseHook{phase: "source", fn: func() {
		// The connector's snapshot starts now, past S: the WAL moved on.
		var h int64
		if _, hookErr = srcPool.Exec(ctx, `INSERT INTO public.other VALUES (1)`); hookErr != nil {
			return
		}
		if hookErr = srcPool.QueryRow(ctx, `SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint`).Scan(&h); hookErr != nil {
			return
		}
		p := d.position() + 8 // T's write, long before S
		d.mu.Lock()
		d.offset += 2
		off := d.offset
		d.mu.Unlock()
		hookErr = d.process(ctx, []projector.Record{
			{Topic: "shop.public.items", Offset: off - 1, Key: []byte(`{"id":5}`), Value: r31cItemEvent(5, &item{Name: "before T", Qty: 0}, h, true)},
		})
		if hookErr == nil {
			hookErr = d.process(ctx, []projector.Record{
				{Topic: "shop.public.items", Offset: off, Key: []byte(`{"id":5}`), Value: r31cItemEvent(5, source[5], p, false)},
			})
		}
	}}
	res, err := Run(ctx, f.openEnv(), Options{View: "item_view", From: "source", Keep: 0, Chunk: 50, Workers: 1, Progress: hook,
		SourceURLs: map[string]string{"items": srcURL}})
	if err != nil {
		t.Fatalf("rebuild --from source: %v", err)
	}
	if hookErr != nil || !hook.done {
		t.Fatalf("the daemon: ran %v, %v", hook.done, hookErr)
	}
	var deleted bool
	if err := f.pool.QueryRow(ctx, `SELECT deleted FROM projector.state_items WHERE key = '5'`).Scan(&deleted); err != nil || deleted {
		t.Errorf("the state of item 5, which the source has and the rebuild read: deleted %v (%v); want live", deleted, err)
	}
	if res.SourceDeleted != 0 {
		t.Errorf("deleted %d state rows as gone from the source, want 0: the source has all 120", res.SourceDeleted)
	}
	f.wantDocs(source)
}

// r31cEventsYAML is a view of a source keyed by a timestamptz, with a
// date column a source row can hold in a value the decoder refuses.
const r31cEventsYAML = `
version: 1
kafka: { brokers: "localhost:1", group: events }
stores:
  postgres: { url: "${PG}" }
sources:
  events:
    topic: shop.public.events
    key: at
    columns: { at: timestamptz, day: date }
views:
  event_view:
    from: events
    fields: { at: at, day: day }
    sinks:
      postgres: { table: event_view }
`

// TestR31cSourceKeepsUnprojectedRowOfTimestampKey: rows 1 and 2 of a
// source keyed by a timestamptz reached the state from the stream (keyed
// as the decoder gives the connector's value: "…Z"); the source now holds
// row 2 with a BC date, which the decoder refuses, so a rebuild --from
// source dead-letters its read. README: "A row read that cannot be
// projected (a dead letter) keeps its state as it was". The key kept for
// it (unprojected) is the text of the value as PostgreSQL's jsonb gives
// it ("…+00:00"), not the state's key: its row is deleted as gone.
func TestR31cSourceKeepsUnprojectedRowOfTimestampKey(t *testing.T) {
	f := newFixtureYAML(t, r31cEventsYAML, "", "")
	d := f.startDaemon()
	ctx := context.Background()
	srcPool, srcURL := testenv.Postgres(t)
	if _, err := srcPool.Exec(ctx, `SET TIME ZONE 'UTC'; CREATE TABLE public.events (at timestamptz PRIMARY KEY, day date);
		INSERT INTO public.events VALUES ('2024-01-01 10:00:00+00', '2024-01-02'), ('2024-01-02 10:00:00+00', '0044-03-15 BC')`); err != nil {
		t.Fatal(err)
	}
	var recs []projector.Record
	for i, at := range []string{"2024-01-01T10:00:00Z", "2024-01-02T10:00:00Z"} {
		recs = append(recs, projector.Record{Topic: "shop.public.events", Offset: int64(i + 1), Key: fmt.Appendf(nil, `{"at":%q}`, at),
			Value: fmt.Appendf(nil, `{"op":"c","source":{"connector":"postgresql","lsn":%d},"after":{"at":%q,"day":19724}}`, 100+i, at)})
	}
	if err := d.process(ctx, recs); err != nil {
		t.Fatal(err)
	}
	live := func() []string {
		rows, err := f.pool.Query(ctx, `SELECT key FROM projector.state_events WHERE NOT deleted ORDER BY key`)
		if err != nil {
			t.Fatal(err)
		}
		keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return keys
	}
	before := live()
	if len(before) != 2 {
		t.Fatalf("the stream left %v live, want two rows", before)
	}
	res, err := Run(ctx, f.openEnv(), Options{View: "event_view", From: "source", Keep: 0,
		SourceURLs: map[string]string{"events": srcURL}})
	if err != nil {
		t.Fatalf("rebuild --from source: %v", err)
	}
	if res.DeadLetters != 1 || res.SourceDeleted != 0 {
		t.Errorf("rebuild --from source: %d dead letters, %d state rows deleted; want 1 (row 2) and 0 (the source has both)", res.DeadLetters, res.SourceDeleted)
	}
	if after := live(); len(after) != 2 {
		t.Errorf("live state rows %v after the rebuild, want both of %v: a row the source has must not be deleted because it could not be projected", after, before)
	}
}
