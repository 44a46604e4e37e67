package postgres

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks"
)

// TestR16pBatchOverTheStatementLimitIsWritten: a batch whose JSON passes
// what one statement takes (PostgreSQL's 1 GB message, jsonb's 256 MB:
// 1,100 docs of 1 MiB, as a fan-out of one user into 1,100 orders gives,
// made the client refuse the message, an error of the whole batch the
// engine retried forever) is written in statements under the bound; a
// doc over it alone is refused, not retried. The bound is lowered here so
// that the test moves kilobytes, not gigabytes.
func TestR16pBatchOverTheStatementLimitIsWritten(t *testing.T) {
	defer func(old int) { maxPayload = old }(maxPayload)
	maxPayload = 64 << 10
	pool, _ := testenv.Postgres(t)
	s := newSink(t, pool, View{Name: "big", Table: "big", ID: []string{"id"}, Columns: []Column{
		{Name: "id", Type: "bigint"}, {Name: "body", Type: "text"},
	}})
	body := strings.Repeat("x", 4<<10)
	const n = 100 // 400 KB in all, about seven statements' worth
	docs := make([]sinks.Doc, n, n+1)
	for i := range docs {
		id := strconv.Itoa(i + 1)
		docs[i] = sinks.Doc{View: "big", ID: id, Key: map[string]any{"id": json.Number(id)}, Rev: 1,
			Fields: map[string]any{"id": json.Number(id), "body": body}}
	}
	huge := strconv.Itoa(n + 1)
	docs = append(docs, sinks.Doc{View: "big", ID: huge, Key: map[string]any{"id": json.Number(huge)}, Rev: 1,
		Fields: map[string]any{"id": json.Number(huge), "body": strings.Repeat("y", 80<<10)}})
	err := s.Write(t.Context(), docs)
	var be *sinks.BatchError
	if !errors.As(err, &be) || len(be.Failed) != 1 || be.Failed[n] == nil || !strings.Contains(be.Failed[n].Error(), "more than one statement takes") {
		t.Fatalf("write: %v; want only the doc over the bound refused", err)
	}
	var rows int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM big`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != n {
		t.Fatalf("%d rows written, want %d", rows, n)
	}
}
