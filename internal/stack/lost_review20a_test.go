package stack

import (
	"context"
	"net"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/testenv"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/sinks/elasticsearch"
	"github.com/projectorhq/projector/sinks/elasticsearch/esfake"
)

// r20aPlan is an Elasticsearch view on the PostgreSQL at pgURL and the
// Elasticsearch at esURL.
func r20aPlan(t *testing.T, pgURL, esURL string) (*config.Config, *projections.Plan) {
	t.Helper()
	cfg, err := config.Parse("wire.yaml", []byte(`
version: 1
kafka: { brokers: "127.0.0.1:9" }
stores:
  postgres: { url: "${PG}" }
  elasticsearch: { url: "${ES}" }
sources:
  items: { topic: t.public.items, key: id, columns: { id: bigint, name: text } }
views:
  item_view:
    from: items
    fields: { id: id, name: name }
    sinks:
      elasticsearch: { index: items }
`), func(k string) (string, bool) { return map[string]string{"PG": pgURL, "ES": esURL}[k], true })
	if err != nil {
		t.Fatal(err)
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, plan
}

// TestR20aFirstDeploymentWithElasticsearchDownGetsItsAlias: the first
// deployment of a view starts while Elasticsearch does not answer (the
// daemon starts anyway, its setup put off until the first write) and is
// stopped before any write. Its definition is recorded all the same, so
// the next start, Elasticsearch up, takes the alias that was never put as
// one "lost" and creates items-g1 behind no alias: readers of "items" find
// nothing, for ever, though nothing was ever lost.
func TestR20aFirstDeploymentWithElasticsearchDownGetsItsAlias(t *testing.T) {
	ctx := context.Background()
	_, pgURL := testenv.Postgres(t)

	// An address nothing listens on: Elasticsearch is down.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + l.Addr().String()
	l.Close()
	cfg, plan := r20aPlan(t, pgURL, down)
	st, err := Wire(ctx, cfg, plan, nil)
	if err != nil {
		t.Fatalf("first start with elasticsearch down: %v", err)
	}
	st.Close()

	fake := esfake.New()
	fake.Start()
	defer fake.Close()
	cfg, plan = r20aPlan(t, pgURL, fake.URL())
	st, err = Wire(ctx, cfg, plan, nil)
	if err != nil {
		t.Fatalf("restart with elasticsearch up: %v", err)
	}
	defer st.Close()
	es, err := elasticsearch.New(elasticsearch.Config{URL: fake.URL()}, ElasticsearchViews(plan))
	if err != nil {
		t.Fatal(err)
	}
	on, err := es.AliasIndices(ctx, "items")
	if err != nil {
		t.Fatal(err)
	}
	if len(on) != 1 || on[0] != "items-g1" {
		t.Errorf("alias items after a first deployment made while elasticsearch was down, then a restart: on %v, want [items-g1] (readers find no index)", on)
	}
}
