package rebuild

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projector"
)

// r18sBlobYAML is a view of a source with a bytea column.
const r18sBlobYAML = `
version: 1
kafka: { brokers: "localhost:1", group: blobs }
stores:
  postgres: { url: "${PG}" }
sources:
  blobs:
    topic: shop.public.blobs
    key: id
    columns: { id: bigint, payload: bytea }
views:
  blob_view:
    from: blobs
    fields: { id: id, payload: payload }
    sinks:
      postgres: { table: blob_view }
`

// r18sBlobRecord is the change Debezium's PostgreSQL connector writes for
// a bytea column without a schema: the bytes in base64.
func r18sBlobRecord(id int64, payload string, lsn int64) projector.Record {
	ev := map[string]any{
		"source": map[string]any{"version": "2.7.3.Final", "connector": "postgresql", "name": "shop",
			"snapshot": "false", "db": "shop", "schema": "public", "table": "blobs", "txId": lsn, "lsn": lsn},
		"op": "c", "before": nil, "after": map[string]any{"id": id, "payload": payload}, "transaction": nil,
	}
	v, _ := json.Marshal(ev)
	return projector.Record{Topic: "shop.public.blobs", Offset: lsn, Key: fmt.Appendf(nil, `{"id":%d}`, id), Value: v}
}

// r18sBlobRedisYAML is the same view in Redis only, whose verification
// checks presence (the PostgreSQL one is TestR18sVerifyByteaField's).
const r18sBlobRedisYAML = `
version: 1
kafka: { brokers: "localhost:1", group: blobs }
stores:
  postgres: { url: "${PG}" }
  redis: { url: "${REDIS}" }
sources:
  blobs:
    topic: shop.public.blobs
    key: id
    columns: { id: bigint, payload: bytea }
views:
  blob_view:
    from: blobs
    fields: { id: id, payload: payload }
    sinks:
      redis: { key: "${PREFIX}blob:{id}" }
`

// TestR18sFromSourceByteaColumn: rebuild --from source re-reads a table
// whose view reads a bytea column. The state holds an old version of row 1
// and missed row 2; after the rebuild the documents must hold the source's
// bytes (base64 in a document, as the stream gives them) for both rows.
// source.go reads each row as jsonb, where bytea is the hex text
// "\\x0102", and hands it to the decoder as if Debezium had written it
// (base64 expected): every row of the table is a dead letter, so the stale
// row stays stale and the missing row never appears.
func TestR18sFromSourceByteaColumn(t *testing.T) {
	ctx := context.Background()
	f := newFixtureYAML(t, r18sBlobRedisYAML, "", "")
	d := f.startDaemon()
	srcPool, srcURL := testenv.Postgres(t)
	if _, err := srcPool.Exec(ctx, `CREATE TABLE public.blobs (id bigint PRIMARY KEY, payload bytea);
		INSERT INTO public.blobs VALUES (1, '\x0102'::bytea), (2, '\xcafe'::bytea)`); err != nil {
		t.Fatal(err)
	}
	// The state as a daemon that missed changes left it: row 1 old
	// ("\x09" in base64), row 2 never seen.
	if err := d.process(ctx, []projector.Record{r18sBlobRecord(1, "CQ==", 100)}); err != nil {
		t.Fatal(err)
	}
	res, err := Run(ctx, f.openEnv(), Options{View: "blob_view", From: "source", Keep: 0,
		SourceURLs: map[string]string{"blobs": srcURL}})
	if err != nil {
		t.Fatalf("rebuild --from source: %v", err)
	}
	if res.DeadLetters != 0 {
		t.Errorf("rebuild --from source: %d source rows were dead letters, want 0", res.DeadLetters)
	}
	for id, want := range map[int64]string{1: "AQI=", 2: "yv4="} {
		raw, err := f.rdb.Get(ctx, fmt.Sprintf("%sblob:%d", f.prefix, id)).Result()
		var doc struct{ Payload string }
		if err == nil {
			err = json.Unmarshal([]byte(raw), &doc)
		}
		if err != nil || doc.Payload != want {
			t.Errorf("document %d after rebuild --from source: %s (%v), want payload %q (the source's bytes)", id, raw, err, want)
		}
	}
}

// TestR18sVerifyByteaField: a rebuild (from the state: nothing re-read) of
// a view with a bytea field in PostgreSQL. The sink stores the bytes the
// document carries as base64 (README), but the verification
// (checkers.go newPGChecker) types the expected row with jsonb_to_record,
// which reads the base64 text as bytea input (the text's own bytes): every
// document with a non-null bytea "differs", so every rebuild of such a view,
// --from source, kafka and signal included, is refused at verification.
func TestR18sVerifyByteaField(t *testing.T) {
	ctx := context.Background()
	f := newFixtureYAML(t, r18sBlobYAML, "", "")
	d := f.startDaemon()
	if err := d.process(ctx, []projector.Record{r18sBlobRecord(1, "AQI=", 100)}); err != nil {
		t.Fatal(err)
	}
	var stored []byte
	if err := f.pool.QueryRow(ctx, `SELECT payload FROM blob_view WHERE id = 1`).Scan(&stored); err != nil || !bytes.Equal(stored, []byte{1, 2}) {
		t.Fatalf("served row: %x (%v), want 0102", stored, err)
	}
	if _, err := Run(ctx, f.openEnv(), Options{View: "blob_view", Keep: 0, VerifyTimeout: 2 * time.Second}); err != nil {
		t.Fatalf("rebuild of a view with a bytea field: %v", err)
	}
}
