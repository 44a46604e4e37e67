package rebuild

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/projectorhq/projector/projector"
)

// windowKeys are the state keys the records of an incremental snapshot's
// window carried, per source: a live state row none of them carried, and
// that no change wrote since the signal went out, is gone from the source
// (deleteUnread). They are kept in a temporary table of the query
// PostgreSQL, written a batch at a time and looked up a page of state rows
// at a time: kept in the process, the keys of a table of 100 million rows
// would weigh gigabytes.
//
// The state itself cannot mark the rows carried, as it does for --from
// source: a record carries its row even when it writes nothing, a dead
// letter or a read older than the row the state holds. A snapshot read
// carries the stream's position when its chunk was read, which the
// position of a row the state holds can pass without any change since the
// signal: a rebuild --from source writes its rows at the WAL's end, beyond
// the last change Debezium streamed. Such a row's updated_at stays before
// the signal, as a row gone's does.
type windowKeys struct {
	conn    *pgx.Conn       // the session the table lives in
	carried map[string]bool // source → some record carried a row of it
}

// newWindowKeys creates the table, in a session of its own.
func (r *run) newWindowKeys(ctx context.Context) (*windowKeys, error) {
	pooled, err := r.env.Pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("--from signal: %w", err)
	}
	// Out of the pool, the session ends with close, whatever happened, and
	// its temporary table with it: no rebuild leaves one behind.
	k := &windowKeys{conn: pooled.Hijack(), carried: map[string]bool{}}
	if _, err := k.conn.Exec(ctx, `CREATE TEMPORARY TABLE window_keys (source text, key text, PRIMARY KEY (source, key))`); err != nil {
		k.close()
		return nil, fmt.Errorf("--from signal: create the table of the keys the snapshot carries: %w", err)
	}
	return k, nil
}

// add records keys (source → rows, as Engine.Keys gives them).
func (k *windowKeys) add(ctx context.Context, keys map[string][]projector.RowAt) error {
	b := &pgx.Batch{}
	for src, rows := range keys {
		if len(rows) == 0 {
			continue
		}
		texts := make([]string, len(rows))
		for i, row := range rows {
			texts[i] = row.Key
		}
		b.Queue(`INSERT INTO pg_temp.window_keys SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`, src, texts)
		k.carried[src] = true
	}
	if b.Len() == 0 {
		return nil
	}
	if err := k.conn.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("--from signal: record the keys the snapshot carries: %w", err)
	}
	return nil
}

// carriedOf says which of keys, state keys of src, a record carried.
func (k *windowKeys) carriedOf(src string) func(ctx context.Context, keys []string, _ []map[string]any) ([]bool, error) {
	return func(ctx context.Context, keys []string, _ []map[string]any) ([]bool, error) {
		rows, err := k.conn.Query(ctx, `SELECT key FROM pg_temp.window_keys WHERE source = $1 AND key = ANY($2)`, src, keys)
		if err != nil {
			return nil, err
		}
		found, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, err
		}
		carried := make(map[string]bool, len(found))
		for _, key := range found {
			carried[key] = true
		}
		out := make([]bool, len(keys))
		for i, key := range keys {
			out[i] = carried[key]
		}
		return out, nil
	}
}

// close ends the session, and the table with it.
func (k *windowKeys) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = k.conn.Close(ctx)
}
