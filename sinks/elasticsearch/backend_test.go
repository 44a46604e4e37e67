package elasticsearch

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	es "github.com/elastic/go-elasticsearch/v8"
	"go.uber.org/goleak"

	"github.com/projectorhq/projector/sinks/elasticsearch/esfake"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// backend is an Elasticsearch the tests run against: a fresh esfake server,
// or the real cluster at ELASTICSEARCH_URL.
type backend struct {
	name   string
	cfg    Config
	fake   *esfake.Server // nil for a real cluster
	prefix string         // unique name prefix for this test's aliases
	client *es.Client
}

// forEachBackend runs the test against esfake and, when ELASTICSEARCH_URL is
// set, against that cluster (optional: ELASTICSEARCH_API_KEY, and
// ELASTICSEARCH_CA_CERT naming a PEM file). On a real cluster the test uses
// aliases and indices with a random prefix and deletes only those.
func forEachBackend(t *testing.T, fn func(t *testing.T, b *backend)) {
	t.Run("esfake", func(t *testing.T) {
		fn(t, fakeBackend(t))
	})
	t.Run("real", func(t *testing.T) {
		addr := os.Getenv("ELASTICSEARCH_URL")
		if addr == "" {
			t.Skip("ELASTICSEARCH_URL not set: the real-cluster tier is skipped (docker compose up elasticsearch, then set it)")
		}
		cfg := Config{URL: addr, APIKey: os.Getenv("ELASTICSEARCH_API_KEY"), MaxBackoff: 50 * time.Millisecond}
		if p := os.Getenv("ELASTICSEARCH_CA_CERT"); p != "" {
			pem, err := os.ReadFile(p)
			if err != nil {
				t.Fatalf("read ELASTICSEARCH_CA_CERT: %v", err)
			}
			cfg.CACert = pem
		}
		b := &backend{name: "real", cfg: cfg, prefix: "projector-test-" + randomHex(4) + "-"}
		b.client = testClient(t, cfg)
		t.Cleanup(func() { b.cleanup(t) })
		fn(t, b)
	})
}

func fakeBackend(t testing.TB) *backend {
	t.Helper()
	srv := esfake.New()
	srv.Start()
	t.Cleanup(srv.Close)
	cfg := Config{URL: srv.URL(), MaxBackoff: time.Millisecond}
	return &backend{name: "esfake", cfg: cfg, fake: srv, prefix: "t-", client: testClient(t, cfg)}
}

func testClient(t testing.TB, cfg Config) *es.Client {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	c, err := es.NewClient(es.Config{
		Addresses: []string{cfg.URL}, APIKey: cfg.APIKey, CACert: cfg.CACert, Transport: tr,
		Username: cfg.Username, Password: cfg.Password,
	})
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	return c
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// cleanup deletes the indices and templates this test created on a real
// cluster, by their prefix, and nothing else.
func (b *backend) cleanup(t *testing.T) {
	status, body := b.do(t, http.MethodGet, "/"+b.prefix+"*", nil)
	if status == http.StatusOK {
		for ix := range body {
			if strings.HasPrefix(ix, b.prefix) {
				b.do(t, http.MethodDelete, "/"+ix, nil)
			}
		}
	}
	status, body = b.do(t, http.MethodGet, "/_index_template/"+b.prefix+"*", nil)
	if status == http.StatusOK {
		tmpls, _ := body["index_templates"].([]any)
		for _, raw := range tmpls {
			name, _ := raw.(map[string]any)["name"].(string)
			if strings.HasPrefix(name, b.prefix) {
				b.do(t, http.MethodDelete, "/_index_template/"+name, nil)
			}
		}
	}
}

// newSink builds and sets up a sink for views whose aliases get the
// backend's prefix.
func (b *backend) newSink(t *testing.T, cfg func(*Config), views ...View) *Sink {
	t.Helper()
	c := b.cfg
	if cfg != nil {
		cfg(&c)
	}
	for i := range views {
		if views[i].Alias == "" {
			views[i].Alias = views[i].Name
		}
		views[i].Alias = b.prefix + views[i].Alias
	}
	s, err := New(c, views)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(s.Close)
	if err := s.Setup(context.Background()); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	return s
}

// do sends one request with the test client and decodes the JSON answer.
func (b *backend) do(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, path, rd)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := b.client.Perform(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(res.Body)
	if len(data) > 0 {
		_ = json.Unmarshal(data, &out)
	}
	return res.StatusCode, out
}

// stored is a document as a reader sees it through the alias.
type stored struct {
	found   bool
	version int64
	source  map[string]any
}

func (b *backend) get(t *testing.T, alias, id string) stored {
	t.Helper()
	status, body := b.do(t, http.MethodGet, "/"+alias+"/_doc/"+url.PathEscape(id), nil)
	if status != http.StatusOK && status != http.StatusNotFound {
		t.Fatalf("get %s/%s: %d %v", alias, id, status, body)
	}
	found, _ := body["found"].(bool)
	if !found {
		return stored{}
	}
	v, _ := body["_version"].(float64)
	src, _ := body["_source"].(map[string]any)
	return stored{found: true, version: int64(v), source: src}
}

// count refreshes and counts through the alias (tombstones filtered out).
func (b *backend) count(t *testing.T, alias string) int {
	t.Helper()
	b.do(t, http.MethodPost, "/"+alias+"/_refresh", nil)
	status, body := b.do(t, http.MethodPost, "/"+alias+"/_count", map[string]any{})
	if status != http.StatusOK {
		t.Fatalf("count %s: %d %v", alias, status, body)
	}
	n, _ := body["count"].(float64)
	return int(n)
}
