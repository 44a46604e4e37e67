package stack

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
)

const indexedViewYAML = `
version: 1
kafka: { brokers: "127.0.0.1:9" }
stores:
  postgres: { url: "${PG}" }
sources:
  people: { topic: t.public.people, key: id, columns: { id: bigint, email: text } }
views:
  person_view:
    from: people
    fields: { id: id, email: email }
    sinks:
      postgres: { table: people }
`

// TestWireBuildsIndexAddedToExistingTable: a daemon starting with an index
// newly declared on a view whose table exists builds it (concurrently) and
// starts. The build once ran inside the transaction that holds the
// registry still while readers are pointed at the served generation, and
// a concurrent build waits for every older snapshot, that one's too: the
// start hung for good.
func TestWireBuildsIndexAddedToExistingTable(t *testing.T) {
	pool, pgURL := testenv.Postgres(t)
	wire := func(yaml string) error {
		t.Helper()
		cfg, err := config.Parse("wire.yaml", []byte(yaml), func(k string) (string, bool) {
			return map[string]string{"PG": pgURL}[k], true
		})
		if err != nil {
			t.Fatal(err)
		}
		plan, err := projections.Compile(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		st, err := Wire(ctx, cfg, plan, nil)
		if st != nil {
			st.Close()
		}
		return err
	}
	if err := wire(indexedViewYAML); err != nil {
		t.Fatal(err)
	}
	indexed := strings.Replace(indexedViewYAML, "{ table: people }", "{ table: people, indexes: [{ fields: [email], unique: true }] }", 1)
	if err := wire(indexed); err != nil {
		t.Fatalf("start with an index added to the existing table: %v", err)
	}
	var valid, unique bool
	err := pool.QueryRow(context.Background(), `SELECT i.indisvalid, i.indisunique FROM pg_index i
		JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
		WHERE i.indrelid = 'people__g1'::regclass AND a.attname = 'email'`).Scan(&valid, &unique)
	if err != nil || !valid || !unique {
		t.Errorf("index on people__g1(email): valid %v unique %v (%v); want a valid unique index", valid, unique, err)
	}
}
