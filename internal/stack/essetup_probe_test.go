package stack

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestElasticsearchDownAtStartSetUpByProbe: with Elasticsearch down at
// start, its setup waited for the first write; on a quiet stream the probe
// then said the alias was on no index (as if its index were deleted) for
// as long as no change came. The probe sets the sink up once the cluster
// answers, and the store is ready with its alias in place.
func TestElasticsearchDownAtStartSetUpByProbe(t *testing.T) {
	gate, up, _ := downElasticsearch(t)
	cfg, plan := esItemsPlan(t, gate.URL)
	st, err := Wire(context.Background(), cfg, plan, nil)
	if err != nil {
		t.Fatalf("Wire with Elasticsearch down: %v, want a start", err)
	}
	defer st.Close()
	i := slices.IndexFunc(st.probes, func(p probe) bool { return slices.Contains(p.components, "elasticsearch") })
	if err := st.probes[i].ping(context.Background()); err == nil {
		t.Fatalf("the probe while Elasticsearch is down: no error")
	}
	up.Store(true)
	if err := st.probes[i].ping(context.Background()); err != nil {
		t.Errorf("the probe once Elasticsearch answers, before any write: %v, want ready", err)
	}
	resp, err := http.Get(gate.URL + "/_alias/items")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); !strings.Contains(string(b), `"items-g1"`) {
		t.Errorf("alias items after the probe: %s, want it on items-g1", b)
	}
}
