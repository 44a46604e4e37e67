package stack

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/internal/kafkautil/kafkatest"
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

// schemaServer answers every id with a string schema and records the basic
// auth it was sent.
func schemaServer(user, pass *string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if user != nil {
			*user, *pass, _ = r.BasicAuth()
		}
		w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
		_, _ = w.Write([]byte(`{"schema":"\"string\""}`))
	})
}

// TestSchemaRegistryTLS: a registry behind HTTPS with a private CA, and
// one that wants a client certificate, are reached with
// kafka.schema_registry.tls; without it the error says what to set.
func TestSchemaRegistryTLS(t *testing.T) {
	pki := kafkatest.NewPKI(t)
	serve := func(mTLS bool) string {
		srv := httptest.NewUnstartedServer(schemaServer(nil, nil))
		srv.TLS = pki.ServerTLS(mTLS)
		srv.StartTLS()
		t.Cleanup(srv.Close)
		return srv.URL
	}
	private, mutual := serve(false), serve(true)
	for _, tc := range []struct {
		name string
		c    config.SchemaRegistry
		want string // "" reaches it; else in the error
	}{
		{"private ca", config.SchemaRegistry{URL: private, TLS: &config.TLS{Enabled: true, CACert: pki.CA}}, ""},
		{"system roots", config.SchemaRegistry{URL: private}, "set kafka.schema_registry.tls.ca_cert"},
		{"wrong server name", config.SchemaRegistry{URL: private,
			TLS: &config.TLS{Enabled: true, CACert: pki.CA, ServerName: "registry.example"}}, "kafka.schema_registry.tls.server_name"},
		{"mtls", config.SchemaRegistry{URL: mutual,
			TLS: &config.TLS{Enabled: true, CACert: pki.CA, Cert: pki.ClientCert, Key: pki.ClientKey}}, ""},
		{"mtls without a client certificate", config.SchemaRegistry{URL: mutual, TLS: &config.TLS{Enabled: true, CACert: pki.CA}}, "certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg, err := NewSchemaRegistry(tc.c)
			if err != nil {
				t.Fatal(err)
			}
			_, err = reg.SchemaByID(context.Background(), 1)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("want the schema, got %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("want an error with %q, got %v", tc.want, err)
			}
		})
	}
	if _, err := NewSchemaRegistry(config.SchemaRegistry{URL: private, TLS: &config.TLS{Enabled: true, CACert: pki.CA + ".gone"}}); err == nil ||
		!strings.Contains(err.Error(), "kafka.schema_registry.tls.ca_cert") {
		t.Errorf("a CA file gone since validation: %v, want an error naming kafka.schema_registry.tls.ca_cert", err)
	}
}

// TestSchemaRegistryURLCredentials: credentials written in the URL are
// sent as basic auth (username and password, when set, win) and never
// appear in an error, which the engine logs while it retries.
func TestSchemaRegistryURLCredentials(t *testing.T) {
	var user, pass string
	srv := httptest.NewServer(schemaServer(&user, &pass))
	defer srv.Close()
	host := srv.Listener.Addr().String()
	for _, tc := range []struct {
		name               string
		c                  config.SchemaRegistry
		wantUser, wantPass string
	}{
		{"from the url", config.SchemaRegistry{URL: "http://key:s3cr3t%40pw@" + host}, "key", "s3cr3t@pw"},
		{"username and password win", config.SchemaRegistry{URL: "http://key:s3cr3t-pw@" + host, Username: "u", Password: "p"}, "u", "p"},
	} {
		reg, err := NewSchemaRegistry(tc.c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := reg.SchemaByID(context.Background(), 1); err != nil || user != tc.wantUser || pass != tc.wantPass {
			t.Errorf("%s: err %v, basic auth %q:%q, want %q:%q", tc.name, err, user, pass, tc.wantUser, tc.wantPass)
		}
	}

	down := httptest.NewServer(schemaServer(nil, nil))
	addr := down.Listener.Addr().String()
	down.Close() // unreachable now
	for _, c := range []config.SchemaRegistry{
		{URL: "http://key:s3cr3t-pw@" + addr},
		{URL: "http://" + addr, Username: "key", Password: "s3cr3t-pw"},
	} {
		reg, err := NewSchemaRegistry(c)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err = reg.SchemaByID(ctx, 1)
		cancel()
		if err == nil || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("an unreachable registry: %v, want an error without the password", err)
		}
	}
}
