package rebuild

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/sinks/elasticsearch/esfake"
)

// TestVerifyFullComparesElasticsearchContent: README, "--verify full
// recomputes every document and compares it field by field". A document
// of the new index whose _source differs from the state's, at the
// revision the state gives, refuses the swap, naming it; a presence check
// would let it through.
func TestVerifyFullComparesElasticsearchContent(t *testing.T) {
	es := esfake.New()
	es.Start()
	t.Cleanup(es.Close)
	f := newFixtureWith(t, "", es.URL())
	d := f.startDaemon()
	f.seed(d, 1, 10)
	env := f.openEnv()
	ctx := context.Background()

	// Rewrites document 7 at the version (revision) it has, as a sink
	// storing something else than it was given would.
	corrupt := func(ctx context.Context, _ registry.Generation) error {
		var doc struct {
			Version int64 `json:"_version"`
		}
		if err := json.Unmarshal([]byte(esGet(t, es.URL()+"/items-g2/_doc/7")), &doc); err != nil {
			return err
		}
		body := `{"index":{"_index":"items-g2","_id":"7","version":` + strconv.FormatInt(doc.Version, 10) + `,"version_type":"external_gte"}}` + "\n" +
			`{"id":7,"name":"not-what-the-state-gives","qty":7}` + "\n"
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, es.URL()+"/_bulk?refresh=true", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-ndjson")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		return res.Body.Close()
	}
	_, err := Run(ctx, env, Options{View: "item_view", Keep: time.Hour, Verify: VerifyFull, VerifyTimeout: 300 * time.Millisecond, afterFill: corrupt})
	if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "elasticsearch: content differs") || !strings.Contains(err.Error(), "ids 7") {
		t.Fatalf("rebuild --verify full with a document of other content in the new index: %v", err)
	}
	if got := esGet(t, es.URL()+"/_alias/items"); !strings.Contains(got, `"items-g1"`) {
		t.Errorf("alias after a refused swap: %s", got)
	}
}
