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

// A 404 that is not the registry's "schema not found" (Confluent, Karapace,
// Redpanda and Apicurio's ccompat API all answer an unknown id with
// {"error_code":40403,...}) means the URL does not point at a registry: a
// reverse proxy or ingress without a route, Apicurio without its
// /apis/ccompat/v7 prefix, a registry behind a load balancer mid-deploy.
// registry.go:SchemaByID treats every 404 as ErrSchemaNotFound, so the
// engine dead-letters every Avro record (and commits past them) instead of
// pausing as for an outage; nothing at start checks the URL.
func TestR12aRegistryNon40403NotFoundIsNotABadRecord(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("<html><body><h1>404 Not Found</h1>nginx</body></html>"))
	}))
	defer srv.Close()
	reg, err := NewSchemaRegistry(config.SchemaRegistry{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, err = reg.SchemaByID(context.Background(), 1)
	if err == nil || errors.Is(err, projector.ErrSchemaNotFound) {
		t.Fatalf("proxy 404 (no registry error_code 40403): %v; want an outage, not a bad record to dead-letter", err)
	}
}
