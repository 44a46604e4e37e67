package postgres

import (
	"encoding/json"
	"testing"

	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/sinks"
)

// TestByteaStoresTheBytes: a doc carries a bytea column's bytes as base64
// text (JSON has no bytes); the column holds the bytes themselves, not
// the text's, in a bytea and in a bytea[] (nulls and order kept).
func TestByteaStoresTheBytes(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := newSink(t, pool, View{Name: "blobs", Table: "blobs", ID: []string{"id"}, Columns: []Column{
		{Name: "id", Type: "bigint"}, {Name: "bin", Type: "bytea"}, {Name: "bins", Type: "bytea[]"}, {Name: "none", Type: "bytea[]"},
	}})
	doc := sinks.Doc{View: "blobs", ID: "1", Key: map[string]any{"id": json.Number("1")}, Rev: 1, Fields: map[string]any{
		"id": json.Number("1"), "bin": "AQI=", "bins": []any{"/w==", nil, ""}, "none": []any{},
	}}
	if err := s.Write(t.Context(), []sinks.Doc{doc}); err != nil {
		t.Fatal(err)
	}
	var bin, bins, none string
	if err := pool.QueryRow(t.Context(), `SELECT encode(bin, 'hex'), bins::text, none::text FROM blobs WHERE id = 1`).Scan(&bin, &bins, &none); err != nil {
		t.Fatal(err)
	}
	if bin != "0102" || bins != `{"\\xff",NULL,"\\x"}` || none != "{}" {
		t.Errorf("stored bin %s, bins %s, none %s; want 0102, {\"\\\\xff\",NULL,\"\\\\x\"}, {}", bin, bins, none)
	}
}
