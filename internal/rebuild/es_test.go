package rebuild

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/sinks/elasticsearch/esfake"
)

// TestRebuildElasticsearch: the new generation is a new index behind the
// same alias; a document missing from it refuses the swap; once rebuilt,
// the alias moves in one request and the old index is deleted.
func TestRebuildElasticsearch(t *testing.T) {
	es := esfake.New()
	es.Start()
	t.Cleanup(es.Close)
	f := newFixtureWith(t, "", es.URL())
	d := f.startDaemon()
	source := f.seed(d, 1, 40)
	if err := d.apply(context.Background(), map[int64]*item{3: nil, 4: {Name: "hidden-4", Qty: 4}}); err != nil {
		t.Fatal(err)
	}
	source[3], source[4] = nil, &item{Name: "hidden-4", Qty: 4}
	env := f.openEnv()
	ctx := context.Background()
	if got := esGet(t, es.URL()+"/_alias/items"); !strings.Contains(got, `"items-g1"`) {
		t.Fatalf("alias before the rebuild: %s", got)
	}

	lose := func(ctx context.Context, g registry.Generation) error {
		body := `{"delete":{"_index":"items-g2","_id":"9"}}` + "\n"
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, es.URL()+"/_bulk?refresh=true", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-ndjson")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		return res.Body.Close()
	}
	_, err := Run(ctx, env, Options{View: "item_view", Keep: 0, VerifyTimeout: 300 * time.Millisecond, afterFill: lose})
	if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "elasticsearch: document missing (ids 9)") {
		t.Fatalf("rebuild with a document lost in the new index: %v", err)
	}
	if got := esGet(t, es.URL()+"/_alias/items"); !strings.Contains(got, `"items-g1"`) {
		t.Errorf("alias after a refused swap: %s", got)
	}

	res, err := Resume(ctx, env, Options{View: "item_view", Keep: 0})
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	if res.Generation != 2 || !res.Dropped {
		t.Errorf("result %+v", res)
	}
	if got := esGet(t, es.URL()+"/_alias/items"); !strings.Contains(got, `"items-g2"`) || strings.Contains(got, `"items-g1"`) {
		t.Errorf("alias after the swap: %s", got)
	}
	esGet(t, es.URL()+"/items/_refresh")
	var count struct{ Count int }
	if err := json.Unmarshal([]byte(esGet(t, es.URL()+"/items/_count")), &count); err != nil || count.Count != 38 {
		t.Errorf("readers of the alias count %d documents (%v), want 38", count.Count, err)
	}
	if got := esGet(t, es.URL()+"/items-g1"); !strings.Contains(got, "index_not_found_exception") {
		t.Errorf("items-g1 after a rebuild with keep 0: %s", got)
	}
	f.wantDocs(source)
}

func esGet(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
