package postgres

import (
	"errors"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks"
)

// TestR27bKeyTheColumnRefusesIsRefused: a doc whose key value the key
// column cannot hold (a varchar(n) key longer than n: the decoder checks
// no varchar length, so a source declared varchar(3) whose value is
// longer, from MongoDB or a column widened at the source, gets there) is
// refused by PostgreSQL as it is (22001). README ("Refused documents"):
// such a doc is set aside, the other docs of the batch are written, and
// the batch goes on. retryRejected (sink.go) then asks whether the table
// holds the doc at a newer revision with the payload read as the key's
// column type, which fails the same way: Write returns a plain error, the
// engine retries the whole batch forever and the consumer stops there.
func TestR27bKeyTheColumnRefusesIsRefused(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := newSink(t, pool, View{Name: "vk", Table: "vk", ID: []string{"code"}, Columns: []Column{
		{Name: "code", Type: "varchar(3)"}, {Name: "v", Type: "text"},
	}})
	good := sinks.Doc{View: "vk", ID: "abc", Key: map[string]any{"code": "abc"}, Rev: 1, Fields: map[string]any{"code": "abc", "v": "ok"}}
	long := sinks.Doc{View: "vk", ID: "abcdef", Key: map[string]any{"code": "abcdef"}, Rev: 1, Fields: map[string]any{"code": "abcdef", "v": "too long a key"}}
	err := s.Write(t.Context(), []sinks.Doc{good, long})
	var be *sinks.BatchError
	if !errors.As(err, &be) || len(be.Failed) != 1 || !errors.Is(be.Failed[1], sinks.ErrRefused) {
		t.Fatalf("Write = %v; want only doc #1 refused (sinks.ErrRefused), not an error of the whole batch retried forever", err)
	}
	var n int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM vk WHERE code = 'abc'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("the good doc of the batch: %d rows (%v), want 1", n, err)
	}
}
