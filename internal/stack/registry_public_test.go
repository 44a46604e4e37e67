package stack

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projector"
)

// TestSchemaRegistryAddressStaysInTheLog: a registry that refuses
// projector's credentials, or a 404 that is not a registry's, is retried
// as an outage; the error the engine logs names the registry's URL, what
// readiness shows (projector.PublicCause, on the unauthenticated admin
// port) says why without it.
func TestSchemaRegistryAddressStaysInTheLog(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		public string
	}{
		{"refused credentials", http.StatusUnauthorized, `{"error_code":401,"message":"Unauthorized"}`,
			"schema id 1: the schema registry answered 401 Unauthorized: the registry refuses projector's credentials"},
		{"forbidden", http.StatusForbidden, `{"error_code":403,"message":"Forbidden"}`,
			"schema id 1: the schema registry answered 403 Forbidden: the registry refuses projector's credentials"},
		{"not a registry's 404", http.StatusNotFound, `<html>nginx at registry.prod.internal</html>`,
			"schema id 1: the schema registry answered 404 without a schema registry's error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			reg, err := NewSchemaRegistry(config.SchemaRegistry{URL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			_, err = reg.SchemaByID(context.Background(), 1)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), srv.URL) {
				t.Errorf("the logged error does not name the registry: %v", err)
			}
			public := projector.PublicCause(err).Error()
			if !strings.HasPrefix(public, tc.public) {
				t.Errorf("readiness says %q\nwant it to begin %q", public, tc.public)
			}
			host := strings.TrimPrefix(srv.URL, "http://")
			for _, private := range []string{host, "registry.prod.internal"} {
				if strings.Contains(public, private) {
					t.Errorf("readiness names %s: %q", private, public)
				}
			}
		})
	}
}
