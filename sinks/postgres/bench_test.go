package postgres

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks"
)

// The benchmarks write batches of benchBatch docs of six columns of mixed
// types; ids cycle through benchIDs, so after the first rounds every batch
// updates existing rows, as a live view mostly does.
const (
	benchBatch = 1000
	benchIDs   = 50 * benchBatch
)

var benchColumns = []Column{
	{Name: "id", Type: "bigint"},
	{Name: "name", Type: "text"},
	{Name: "total", Type: "numeric(12,2)"},
	{Name: "placed_at", Type: "timestamptz"},
	{Name: "paid", Type: "boolean"},
	{Name: "customer", Type: "jsonb"},
}

func benchID(round, i int) int64 { return int64((round*benchBatch + i) % benchIDs) }

func BenchmarkWrite(b *testing.B) {
	pool, _ := testenv.Postgres(b)
	s, err := New(pool, []View{{Name: "bench", Table: "bench", Columns: benchColumns, ID: []string{"id"}}})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Migrate(b.Context()); err != nil {
		b.Fatal(err)
	}
	docs := make([]sinks.Doc, benchBatch)
	b.ResetTimer()
	for round := 0; b.Loop(); round++ {
		b.StopTimer()
		for i := range docs {
			id := benchID(round, i)
			n := json.Number(strconv.FormatInt(id, 10))
			docs[i] = sinks.Doc{View: "bench", ID: string(n), Key: map[string]any{"id": n}, Rev: int64(round + 1), Fields: map[string]any{
				"id":        n,
				"name":      "customer order " + string(n),
				"total":     strconv.FormatInt(id%10000, 10) + ".50",
				"placed_at": "2024-01-02T03:04:05Z",
				"paid":      id%2 == 0,
				"customer":  map[string]any{"id": n, "name": "Ann", "tier": json.Number("3")},
			}}
		}
		b.StartTimer()
		if err := s.Write(b.Context(), docs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "rows/s")
}

// benchRow is what a hand-written writer would marshal: typed, no maps.
type benchRow struct {
	ID       int64          `json:"id"`
	Name     string         `json:"name"`
	Total    string         `json:"total"`
	PlacedAt string         `json:"placed_at"`
	Paid     bool           `json:"paid"`
	Customer map[string]any `json:"customer"`
}

func benchRows(round int) []benchRow {
	rows := make([]benchRow, benchBatch)
	for i := range rows {
		id := benchID(round, i)
		rows[i] = benchRow{
			ID: id, Name: "customer order " + strconv.FormatInt(id, 10), Total: strconv.FormatInt(id%10000, 10) + ".50",
			PlacedAt: "2024-01-02T03:04:05Z", Paid: id%2 == 0,
			Customer: map[string]any{"id": id, "name": "Ann", "tier": 3},
		}
	}
	return rows
}

const benchTable = `CREATE TABLE raw (id bigint PRIMARY KEY, name text, total numeric(12,2), placed_at timestamptz, paid boolean, customer jsonb)`

// BenchmarkRawUpsert is the baseline for BenchmarkWrite: the same rows
// upserted into a plain table without a rev guard, by the two fastest
// batched upserts pgx offers.
func BenchmarkRawUpsert(b *testing.B) {
	for _, fn := range []string{"json_to_recordset", "jsonb_to_recordset"} {
		b.Run(fn, func(b *testing.B) { benchRecordset(b, fn) })
	}
	b.Run("copy", func(b *testing.B) {
		pool, _ := testenv.Postgres(b)
		conn, err := pool.Acquire(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Release()
		for _, sql := range []string{benchTable, "CREATE TEMP TABLE raw_in (LIKE raw)"} {
			if _, err := conn.Exec(b.Context(), sql); err != nil {
				b.Fatal(err)
			}
		}
		placed := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
		cols := []string{"id", "name", "total", "placed_at", "paid", "customer"}
		b.ResetTimer()
		for round := 0; b.Loop(); round++ {
			b.StopTimer()
			rows := benchRows(round)
			b.StartTimer()
			values := make([][]any, len(rows))
			for i, r := range rows {
				values[i] = []any{r.ID, r.Name, r.Total, placed, r.Paid, r.Customer}
			}
			err := pgx.BeginFunc(b.Context(), conn, func(tx pgx.Tx) error {
				if _, err := tx.Exec(b.Context(), "TRUNCATE raw_in"); err != nil {
					return err
				}
				if _, err := tx.CopyFrom(b.Context(), pgx.Identifier{"raw_in"}, cols, pgx.CopyFromRows(values)); err != nil {
					return fmt.Errorf("copy: %w", err)
				}
				_, err := tx.Exec(b.Context(), `INSERT INTO raw SELECT * FROM raw_in ON CONFLICT (id) DO UPDATE SET
					name = excluded.name, total = excluded.total, placed_at = excluded.placed_at,
					paid = excluded.paid, customer = excluded.customer`)
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "rows/s")
	})
}

func benchRecordset(b *testing.B, fn string) {
	pool, _ := testenv.Postgres(b)
	if _, err := pool.Exec(b.Context(), benchTable); err != nil {
		b.Fatal(err)
	}
	typ := strings.TrimSuffix(fn, "_to_recordset")
	sql := `INSERT INTO raw SELECT * FROM ` + fn + `($1::` + typ + `)
		AS r(id bigint, name text, total numeric(12,2), placed_at timestamptz, paid boolean, customer jsonb)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, total = excluded.total,
		placed_at = excluded.placed_at, paid = excluded.paid, customer = excluded.customer`
	for round := 0; b.Loop(); round++ {
		b.StopTimer()
		rows := benchRows(round)
		b.StartTimer()
		batch, err := json.Marshal(rows)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := pool.Exec(b.Context(), sql, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "rows/s")
}
