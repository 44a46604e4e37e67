package elasticsearch

import (
	"context"
	"errors"
	"net/http"
	"testing"
)

// TestSetupKeepsForeignTemplates: a view's index template is named as its
// alias. One of that name projector did not make (Elasticsearch's own
// logs or metrics template, another application's) is not overwritten:
// setup refuses, naming it. Its own template, from an earlier start, is
// put again.
func TestSetupKeepsForeignTemplates(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		alias := b.prefix + "logs"
		foreign := map[string]any{"index_patterns": []string{alias + "-*-*"}, "priority": 100,
			"_meta": map[string]any{"description": "default mappings for the logs index template"}}
		if st, body := b.do(t, http.MethodPut, "/_index_template/"+alias, foreign); st != http.StatusOK {
			t.Fatalf("put the foreign template: %d %v", st, body)
		}
		v := View{Name: "events", Alias: alias, Fields: []Field{{"id", "bigint"}}}
		s, err := New(b.cfg, []View{v})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		if err := s.Setup(context.Background()); !errors.Is(err, ErrForeignTemplate) {
			t.Fatalf("setup over a template projector did not make: %v, want ErrForeignTemplate", err)
		}
		_, body := b.do(t, http.MethodGet, "/_index_template/"+alias, nil)
		tmpls, _ := body["index_templates"].([]any)
		if len(tmpls) != 1 || tmpls[0].(map[string]any)["index_template"].(map[string]any)["priority"] != 100.0 {
			t.Errorf("the foreign template after the refused setup: %v, want it untouched", body)
		}

		// projector's own template is put again at every start.
		b.do(t, http.MethodDelete, "/_index_template/"+alias, nil)
		for range 2 {
			if err := s.Setup(context.Background()); err != nil {
				t.Fatalf("setup over its own template: %v", err)
			}
		}
	})
}
