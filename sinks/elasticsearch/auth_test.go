package elasticsearch

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/projectorhq/projector/sinks/elasticsearch/esfake"
)

// TestElasticsearchAuth runs against esfake, which refuses requests without
// the credentials it was told to require: a passing Setup and Write prove
// the headers were sent.
func TestElasticsearchAuth(t *testing.T) {
	const key = "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="
	const password = "s3cret-pass"
	tests := []struct {
		name    string
		require func(srv *esfake.Server)
		tls     bool
		cfg     func(srv *esfake.Server) Config
		wantErr error  // nil: Setup and Write succeed
		secret  string // must not appear in the error
	}{
		{"api key", func(srv *esfake.Server) { srv.RequireAPIKey(key) }, false,
			func(srv *esfake.Server) Config { return Config{URL: srv.URL(), APIKey: key} }, nil, ""},
		{"wrong api key", func(srv *esfake.Server) { srv.RequireAPIKey(key) }, false,
			func(srv *esfake.Server) Config { return Config{URL: srv.URL(), APIKey: "d3Jvbmc="} }, errAuth, "d3Jvbmc="},
		{"basic auth", func(srv *esfake.Server) { srv.RequireBasicAuth("elastic", password) }, false,
			func(srv *esfake.Server) Config {
				return Config{URL: srv.URL(), Username: "elastic", Password: password}
			}, nil, ""},
		{"basic auth in the url", func(srv *esfake.Server) { srv.RequireBasicAuth("elastic", password) }, false,
			func(srv *esfake.Server) Config {
				return Config{URL: strings.Replace(srv.URL(), "http://", "http://elastic:"+password+"@", 1)}
			}, nil, ""},
		{"wrong password", func(srv *esfake.Server) { srv.RequireBasicAuth("elastic", password) }, false,
			func(srv *esfake.Server) Config {
				return Config{URL: srv.URL(), Username: "elastic", Password: "not-" + password}
			}, errAuth, "not-" + password},
		{"tls with custom ca", func(*esfake.Server) {}, true,
			func(srv *esfake.Server) Config { return Config{URL: srv.URL(), CACert: srv.CACert()} }, nil, ""},
		{"tls with api key", func(srv *esfake.Server) { srv.RequireAPIKey(key) }, true,
			func(srv *esfake.Server) Config { return Config{URL: srv.URL(), CACert: srv.CACert(), APIKey: key} }, nil, ""},
		{"tls without the ca", func(*esfake.Server) {}, true,
			func(srv *esfake.Server) Config { return Config{URL: srv.URL()} }, ErrUnreachable, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := esfake.New()
			tt.require(srv)
			if tt.tls {
				srv.StartTLS()
			} else {
				srv.Start()
			}
			t.Cleanup(srv.Close)
			s, err := New(tt.cfg(srv), []View{{Name: "items"}})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			t.Cleanup(s.Close)
			err = s.Setup(context.Background())
			if err == nil {
				err = s.Write(context.Background(), fourDocs())
			}
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("Setup/Write: %v", err)
			case tt.wantErr == errAuth:
				var ae *APIError
				if !errors.As(err, &ae) || ae.Status != 401 || ae.Type != "security_exception" {
					t.Fatalf("error = %v, want 401 security_exception", err)
				}
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
				t.Fatalf("error %q contains the secret", err)
			}
		})
	}
}

// errAuth marks an expected 401 from the server.
var errAuth = errors.New("401")
