package debezium

import (
	"os"
	"path/filepath"
	"testing"
)

func readSample(b *testing.B, name string) []byte {
	b.Helper()
	data, err := os.ReadFile(filepath.Join(samplesDir, name))
	if err != nil {
		b.Fatal(err)
	}
	return data
}

func benchDecode(b *testing.B, opts Options, key, value []byte) {
	d, err := NewDecoder(opts)
	if err != nil {
		b.Fatal(err)
	}
	benchDecodeWith(b, d, key, value)
}

func benchDecodeWith(b *testing.B, d *Decoder, key, value []byte) {
	if _, err := d.Decode(key, value); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(key) + len(value)))
	b.ReportAllocs()
	cpu0 := processCPU()
	b.ResetTimer()
	for b.Loop() {
		if _, err := d.Decode(key, value); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	// Per CPU-second of the process (GC included): the number that holds on
	// a machine shared with other work, where wall time is inflated.
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "msgs/cpu-s")
	}
}

// BenchmarkDecodeSchemaPostgres is the target case: a schema-enabled
// PostgreSQL snapshot read (2.4 kB, schema cached after the first record)
// with its schema-enabled key. Run with -cpu 1 for msgs/s per core.
func BenchmarkDecodeSchemaPostgres(b *testing.B) {
	key := []byte(`{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"default":0,"field":"id"}],"optional":false,"name":"dbserver1.inventory.customers.Key"},"payload":{"id":1002}}`)
	benchDecode(b, Options{}, key, readSample(b, "postgres/snapshot_read_true.value.json"))
}

// BenchmarkDecodeSchemaPostgresDecimals: 8.7 kB, eleven columns of which
// seven are decimals (two above 38 digits), REPLICA IDENTITY FULL.
func BenchmarkDecodeSchemaPostgresDecimals(b *testing.B) {
	benchDecode(b, Options{}, nil, readSample(b, "postgres/update_replica_identity_full_decimal_precise.value.json"))
}

func BenchmarkDecodeSchemalessPostgres(b *testing.B) {
	benchDecode(b, Options{}, []byte(`{"id":"w1"}`), readSample(b, "postgres/create_schemaless.value.json"))
}

func BenchmarkDecodeMongo(b *testing.B) {
	benchDecode(b, Options{}, []byte(`{"id":"{\"$oid\": \"6811137d0c9f202a34d861e0\"}"}`), readSample(b, "mongodb/update_full_document_schemaless_2_7.value.json"))
}

// BenchmarkDecodeSchemaPostgresFirstSight is the cost of a record whose
// schema the decoder has not seen: the schema is parsed and compiled.
func BenchmarkDecodeSchemaPostgresFirstSight(b *testing.B) {
	value := readSample(b, "postgres/snapshot_read_true.value.json")
	b.SetBytes(int64(len(value)))
	b.ReportAllocs()
	for b.Loop() {
		d, err := NewDecoder(Options{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := d.Decode(nil, value); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func BenchmarkDecodeAvroPostgres(b *testing.B) {
	seed := avroSeeds(b)[0]
	d, err := NewDecoder(Options{})
	if err != nil {
		b.Fatal(err)
	}
	for id, s := range avroSchemas {
		if err := d.AddAvroSchema(id, s); err != nil {
			b.Fatal(err)
		}
	}
	benchDecodeWith(b, d, seed[0], seed[1])
}
