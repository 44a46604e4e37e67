package projections_test

import (
	"strings"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projections"
)

// viewsHead: the views start at line 18.
const viewsHead = `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "${PROJECTOR_POSTGRES_URL}" } }
sources:
  orders:
    topic: o
    key: id
    columns: { id: bigint, user_id: text, status: text, total: "numeric(10,2)", amount: numeric }
  users:
    topic: u
    key: _id
    columns: { _id: text, name: text, info: jsonb }
  items:
    topic: i
    key: id
    columns: { id: bigint, order_id: bigint, price: "numeric(10,2)", user_id: text }
views:
`

// compileViews runs what `projector validate --offline` runs: Parse, then Compile.
func compileViews(t *testing.T, views string) error {
	t.Helper()
	cfg, err := config.Parse("t.yaml", []byte(viewsHead+strings.TrimPrefix(views, "\n")), lookup)
	if err != nil {
		return err
	}
	_, err = projections.Compile(cfg)
	return err
}
