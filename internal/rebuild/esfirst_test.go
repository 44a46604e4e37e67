package rebuild

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/projectorhq/projector/sinks/elasticsearch/esfake"
)

// TestFirstElasticsearchRebuild: Elasticsearch is added to a view
// that the daemons have served from PostgreSQL and Redis so far, and
// `rebuild --sinks es` builds its index. Readers of the alias must not see
// the index before the swap, and the rebuild must swap it in.
func TestFirstElasticsearchRebuild(t *testing.T) {
	es := esfake.New()
	es.Start()
	t.Cleanup(es.Close)
	f := newFixtureWith(t, "", es.URL())
	url := f.cfg.Stores.Elasticsearch.URL
	f.cfg.Stores.Elasticsearch.URL = "" // the daemons run without it so far
	d := f.startDaemon()
	f.seed(d, 1, 20)
	f.cfg.Stores.Elasticsearch.URL = url
	env := f.openEnv()
	ctx := context.Background()

	var during string
	peek := onPhase{phase: "fill", once: &sync.Once{}, fn: func() { during = esGet(t, es.URL()+"/_alias/items") }}
	_, err := Run(ctx, env, Options{View: "item_view", Stores: []string{"elasticsearch"}, Keep: time.Hour, Progress: peek})
	if strings.Contains(during, `"items-g2"`) {
		t.Errorf("while generation 2 is filled, readers of alias items already search it: %s", during)
	}
	if err != nil {
		t.Fatalf("rebuild --sinks es: %v", err)
	}
	if got := esGet(t, es.URL()+"/_alias/items"); !strings.Contains(got, `"items-g2"`) {
		t.Errorf("alias after the rebuild: %s", got)
	}
}
