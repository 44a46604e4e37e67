package query_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/projectorhq/projector/internal/rebuild"
)

// TestViewsGenerationAfterRebuild: GET /v1/views reports each view's
// active generation: 2 after `projector rebuild lines` swapped it in.
func TestViewsGenerationAfterRebuild(t *testing.T) {
	s := newShop(t, shopOptions{})
	s.line(1, 1, "hammer", 2)
	s.caughtUp()
	ctx := context.Background()
	env, err := rebuild.Open(ctx, s.cfg, s.plan, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	res, err := rebuild.Run(ctx, env, rebuild.Options{View: "lines"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Generation != 2 {
		t.Fatalf("rebuild made generation %d", res.Generation)
	}
	// The reader view now shows generation 2.
	st, body := s.get("/v1/views/lines/docs/%5B1%2C1%5D")
	mustStatus(t, "get", st, http.StatusOK, body)

	st, body = s.get("/v1/views")
	mustStatus(t, "/v1/views", st, http.StatusOK, body)
	for _, v := range body["views"].([]any) {
		m := v.(map[string]any)
		if m["name"] != "lines" {
			continue
		}
		if g, _ := m["generation"].(json.Number); g.String() != "2" {
			t.Errorf("GET /v1/views: lines has generation %v, want 2 (the active one after the rebuild)", m["generation"])
		}
	}
}
