package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/elastic/go-elasticsearch/v8/esutil"

	"github.com/projectorhq/projector/sinks"
)

const benchBatch = 1000

var benchFields = []Field{
	{"id", "bigint"}, {"title", "text"}, {"qty", "integer"}, {"price", "numeric(10,2)"},
	{"paid", "boolean"}, {"created_at", "timestamptz"}, {"tags", "text[]"}, {"customer", "jsonb"},
}

// benchDocs is one batch of typical order documents at rev.
func benchDocs(rev int64) []sinks.Doc {
	docs := make([]sinks.Doc, benchBatch)
	for i := range docs {
		id := strconv.Itoa(i)
		docs[i] = sinks.Doc{View: "orders", ID: id, Key: map[string]any{"id": json.Number(id)}, Rev: rev, Fields: map[string]any{
			"id": json.Number(id), "title": "order " + id + " for a quite ordinary customer", "qty": json.Number("3"),
			"price": "129.90", "paid": i%2 == 0, "created_at": "2026-01-02T03:04:05.123456Z",
			"tags":     []any{"express", "gift"},
			"customer": map[string]any{"id": json.Number("42"), "name": "Ada Lovelace", "email": "ada@example.com"},
		}}
	}
	return docs
}

func setRev(docs []sinks.Doc, rev int64) {
	for i := range docs {
		docs[i].Rev = rev
	}
}

func reportDocsPerSec(b *testing.B) {
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "docs/s")
}

// BenchmarkWrite is the sink writing batches of 1000 docs to esfake.
func BenchmarkWrite(b *testing.B) {
	be := fakeBackend(b)
	s, err := New(be.cfg, []View{{Name: "orders", Fields: benchFields}})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Setup(context.Background()); err != nil {
		b.Fatal(err)
	}
	docs := benchDocs(1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		setRev(docs, int64(i+1))
		if err := s.Write(context.Background(), docs); err != nil {
			b.Fatal(err)
		}
	}
	reportDocsPerSec(b)
}

// BenchmarkRawBulk is the baseline: the same docs as a plain client sends
// them, one _bulk request per batch, the response read and discarded.
func BenchmarkRawBulk(b *testing.B) {
	be := fakeBackend(b)
	s, err := New(be.cfg, []View{{Name: "orders", Fields: benchFields}})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Setup(context.Background()); err != nil {
		b.Fatal(err)
	}
	client := be.client
	docs := benchDocs(1)
	var body bytes.Buffer
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		body.Reset()
		for _, d := range docs {
			meta, _ := json.Marshal(map[string]any{"index": map[string]any{
				"_index": "orders-g1", "_id": d.ID, "version": i + 1, "version_type": "external",
			}})
			src, _ := json.Marshal(d.Fields)
			body.Write(meta)
			body.WriteByte('\n')
			body.Write(src)
			body.WriteByte('\n')
		}
		res, err := client.Bulk(bytes.NewReader(body.Bytes()))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.IsError() {
			b.Fatal(res.String())
		}
	}
	reportDocsPerSec(b)
}

// BenchmarkBulkIndexer measures esutil.BulkIndexer on the same batches, the
// alternative to the sink's hand-built _bulk body: one indexer per batch,
// closed to flush, outcomes through per-item callbacks.
func BenchmarkBulkIndexer(b *testing.B) {
	be := fakeBackend(b)
	s, err := New(be.cfg, []View{{Name: "orders", Fields: benchFields}})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Setup(context.Background()); err != nil {
		b.Fatal(err)
	}
	docs := benchDocs(1)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var failed atomic.Int64
		bi, err := esutil.NewBulkIndexer(esutil.BulkIndexerConfig{Client: be.client, NumWorkers: 1, FlushBytes: 8 << 20})
		if err != nil {
			b.Fatal(err)
		}
		version := int64(i + 1)
		for _, d := range docs {
			src, _ := json.Marshal(d.Fields)
			err := bi.Add(ctx, esutil.BulkIndexerItem{
				Index: "orders-g1", Action: "index", DocumentID: d.ID, Version: &version, VersionType: "external",
				Body: bytes.NewReader(src),
				OnFailure: func(context.Context, esutil.BulkIndexerItem, esutil.BulkIndexerResponseItem, error) {
					failed.Add(1)
				},
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		if err := bi.Close(ctx); err != nil {
			b.Fatal(err)
		}
		if failed.Load() > 0 {
			b.Fatalf("%d items failed", failed.Load())
		}
	}
	reportDocsPerSec(b)
}
