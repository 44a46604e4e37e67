package redis

import (
	"encoding/json"
	"strconv"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks"
)

// The benchmarks write batches of benchBatch JSON docs; ids cycle through
// benchIDs so that most batches overwrite existing keys.
const (
	benchBatch = 1000
	benchIDs   = 50 * benchBatch
)

func benchFields(id int64) map[string]any {
	n := json.Number(strconv.FormatInt(id, 10))
	return map[string]any{
		"id": n, "name": "customer order " + string(n), "total": "12.50", "placed_at": "2024-01-02T03:04:05Z",
		"paid": id%2 == 0, "customer": map[string]any{"id": n, "name": "Ann", "tier": json.Number("3")},
	}
}

func BenchmarkWrite(b *testing.B) {
	client, prefix := testenv.Redis(b)
	s := newSink(b, client, prefix, View{Name: "bench", Key: prefix + "bench:{id}"})
	docs := make([]sinks.Doc, benchBatch)
	for round := 0; b.Loop(); round++ {
		b.StopTimer()
		for i := range docs {
			id := int64((round*benchBatch + i) % benchIDs)
			f := benchFields(id)
			docs[i] = sinks.Doc{View: "bench", ID: strconv.FormatInt(id, 10), Key: map[string]any{"id": f["id"]}, Rev: int64(round + 1), Fields: f}
		}
		b.StartTimer()
		if err := s.Write(b.Context(), docs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkRawSet is the baseline for BenchmarkWrite: the same payloads,
// marshalled and SET in one pipeline per batch, with no rev guard.
func BenchmarkRawSet(b *testing.B) {
	client, prefix := testenv.Redis(b)
	fields := make([]map[string]any, benchBatch)
	for round := 0; b.Loop(); round++ {
		b.StopTimer()
		for i := range fields {
			fields[i] = benchFields(int64((round*benchBatch + i) % benchIDs))
		}
		b.StartTimer()
		pipe := client.Pipeline()
		for i, f := range fields {
			payload, err := json.Marshal(f)
			if err != nil {
				b.Fatal(err)
			}
			pipe.Set(b.Context(), prefix+"raw:"+strconv.Itoa((round*benchBatch+i)%benchIDs), payload, 0)
		}
		if _, err := pipe.Exec(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "ops/s")
}
