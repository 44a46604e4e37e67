package stack

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projector"
)

// The registry answers as Confluent's documents: GET /schemas/ids/{id} gives
// {"schema": "..."}; an unknown id is 404 with error_code 40403.
func TestSchemaRegistry(t *testing.T) {
	var gotUser string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotUser, _, _ = r.BasicAuth()
		w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
		switch r.URL.Path {
		case "/schemas/ids/7":
			_, _ = w.Write([]byte(`{"schema":"{\"type\":\"string\"}"}`))
		case "/schemas/ids/8":
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"error_code":50001,"message":"Error in the backend data store"}`))
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error_code":40403,"message":"Schema not found"}`))
		}
	}))
	defer srv.Close()
	reg, err := NewSchemaRegistry(config.SchemaRegistry{URL: srv.URL, Username: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if s, err := reg.SchemaByID(ctx, 7); err != nil || s != `{"type":"string"}` {
		t.Errorf("id 7: %q, %v", s, err)
	}
	if gotUser != "u" {
		t.Errorf("basic auth user %q", gotUser)
	}
	if _, err := reg.SchemaByID(ctx, 9); !errors.Is(err, projector.ErrSchemaNotFound) {
		t.Errorf("unknown id: %v, want ErrSchemaNotFound", err)
	}
	if _, err := reg.SchemaByID(ctx, 8); err == nil || errors.Is(err, projector.ErrSchemaNotFound) {
		t.Errorf("a failing registry must be an outage, not a bad record: %v", err)
	}
	if r, err := NewSchemaRegistry(config.SchemaRegistry{}); r != nil || err != nil {
		t.Errorf("no URL: %v, %v", r, err)
	}
}
