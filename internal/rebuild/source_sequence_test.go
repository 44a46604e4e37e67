package rebuild

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// seqEnvelope is a Debezium PostgreSQL change event as Debezium 1.4+ writes
// it: source.sequence = ["<last committed LSN>","<LSN>"], which the decoder
// turns into the position (greater of the two, LSN).
func seqEnvelope(id int64, it *item, lastCommit, lsn int64) []byte {
	ev := map[string]any{
		"source": map[string]any{"version": "2.7.3.Final", "connector": "postgresql", "name": "shop",
			"ts_ms": 1790710562903, "snapshot": "false", "db": "shop", "schema": "public", "table": "items",
			"txId": lsn, "lsn": lsn, "sequence": fmt.Sprintf(`["%d","%d"]`, lastCommit, lsn)},
		"transaction": nil, "ts_ms": 1790710563391,
	}
	if it == nil {
		ev["op"], ev["before"], ev["after"] = "d", map[string]any{"id": id, "name": nil, "qty": nil}, nil
	} else {
		ev["op"], ev["before"], ev["after"] = "u", nil, map[string]any{"id": id, "name": it.Name, "qty": it.Qty}
	}
	b, _ := json.Marshal(ev)
	return b
}

// TestFromSourceKeepsStreamedChangeWithSequence: rebuild --from source
// applies its snapshot reads at Position{Hi: S} (S = pg_current_wal_lsn(),
// Lo 0) and deletes what it did not see at {Hi: S} (source.go
// snapshotRecord/readRecord, deleteUnseen). A transaction T that commits
// after the snapshot, with no other commit in the source between S and T
// (a quiet table: the usual case), has a last committed LSN C0 below S. Were
// its position (C0, LSN_T), it would compare older than the snapshot read
// although LSN_T > S: the state would refuse the update as stale, and lose
// it for good. Its position's Hi is never below its LSN.
func TestFromSourceKeepsStreamedChangeWithSequence(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	ctx := context.Background()
	srcPool, srcURL := testenv.Postgres(t)
	if _, err := srcPool.Exec(ctx, `CREATE TABLE public.items (id bigint PRIMARY KEY, name text, qty bigint);
		INSERT INTO public.items SELECT g, 'item-' || g, g FROM generate_series(1, 3) g;`); err != nil {
		t.Fatal(err)
	}
	// The last commit in the source before the rebuild: below S, which
	// the rebuild reads later.
	var setupEnd int64
	if err := srcPool.QueryRow(ctx, `SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint`).Scan(&setupEnd); err != nil {
		t.Fatal(err)
	}
	lastCommit := setupEnd - 1
	f.seed(d, 1, 3)

	env := f.openEnv()
	if _, err := Run(ctx, env, Options{View: "item_view", From: "source", Keep: 0,
		SourceURLs: map[string]string{"items": srcURL}}); err != nil {
		t.Fatalf("rebuild --from source: %v", err)
	}
	// T: an update committed in the source after the snapshot (so the
	// snapshot did not see it); its change is written after S.
	var now int64
	if err := srcPool.QueryRow(ctx, `UPDATE public.items SET name = 'after the snapshot', qty = 99 WHERE id = 2
		RETURNING (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint`).Scan(&now); err != nil {
		t.Fatal(err)
	}
	lsnT := now + 8 // written after S (S <= now)
	rec := projector.Record{Topic: "shop.public.items", Offset: 1000, Key: []byte(`{"id":2}`),
		Value: seqEnvelope(2, &item{Name: "after the snapshot", Qty: 99}, lastCommit, lsnT)}
	if err := d.process(ctx, []projector.Record{rec}); err != nil {
		t.Fatal(err)
	}
	f.wantDocs(map[int64]*item{1: {Name: "item-1", Qty: 1}, 2: {Name: "after the snapshot", Qty: 99}, 3: {Name: "item-3", Qty: 3}})
}

// phaseHook runs fn once, at the first Add of the named phase.
type phaseHook struct {
	phase string
	cur   string
	done  bool
	fn    func()
}

func (p *phaseHook) Phase(name string, total int64) { p.cur = name }
func (p *phaseHook) Add(n int64) {
	if p.cur == p.phase && !p.done {
		p.done = true
		p.fn()
	}
}
func (p *phaseHook) Done() {}

// TestFromSourceKeepsRowInsertedAfterSnapshot: a row inserted in the
// source by a transaction that commits after the snapshot (so the snapshot
// lacks it) reaches the state through the daemon, with last committed LSN
// C0 < S. deleteUnseen (source.go) deletes at (S, 0) the state rows with
// `pos_hi < S` the snapshot did not see: positioned (C0, LSN_T), the row
// would be deleted from the state and every view though the source has it.
func TestFromSourceKeepsRowInsertedAfterSnapshot(t *testing.T) {
	f := newFixture(t)
	d := f.startDaemon()
	ctx := context.Background()
	srcPool, srcURL := testenv.Postgres(t)
	if _, err := srcPool.Exec(ctx, `CREATE TABLE public.items (id bigint PRIMARY KEY, name text, qty bigint);
		INSERT INTO public.items SELECT g, 'item-' || g, g FROM generate_series(1, 3) g;`); err != nil {
		t.Fatal(err)
	}
	var setupEnd int64
	if err := srcPool.QueryRow(ctx, `SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint`).Scan(&setupEnd); err != nil {
		t.Fatal(err)
	}
	lastCommit := setupEnd - 1
	f.seed(d, 1, 3)

	// Once the snapshot is read (its first page applied), T inserts row 4
	// in the source and the daemon applies T's change.
	var hookErr error
	hook := &phaseHook{phase: "source", fn: func() {
		var now int64
		if err := srcPool.QueryRow(ctx, `INSERT INTO public.items VALUES (4, 'inserted after the snapshot', 4)
			RETURNING (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint`).Scan(&now); err != nil {
			hookErr = err
			return
		}
		rec := projector.Record{Topic: "shop.public.items", Offset: 1000, Key: []byte(`{"id":4}`),
			Value: seqEnvelope(4, &item{Name: "inserted after the snapshot", Qty: 4}, lastCommit, now+8)}
		hookErr = d.process(ctx, []projector.Record{rec})
	}}
	env := f.openEnv()
	if _, err := Run(ctx, env, Options{View: "item_view", From: "source", Keep: 0, Progress: hook,
		SourceURLs: map[string]string{"items": srcURL}}); err != nil {
		t.Fatalf("rebuild --from source: %v", err)
	}
	if hookErr != nil || !hook.done {
		t.Fatalf("hook: ran %v, %v", hook.done, hookErr)
	}
	f.wantDocs(map[int64]*item{1: {Name: "item-1", Qty: 1}, 2: {Name: "item-2", Qty: 2}, 3: {Name: "item-3", Qty: 3},
		4: {Name: "inserted after the snapshot", Qty: 4}})
}
