package rebuild

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	es "github.com/elastic/go-elasticsearch/v8"

	"github.com/projectorhq/projector/sinks/elasticsearch"
)

// esAPI is the few Elasticsearch calls a rebuild makes besides the sink's:
// delete an index, refresh it, find which ids it holds as live documents.
// The sink has none of them (see the report: they belong there).
type esAPI struct {
	client *es.Client
}

func newESAPI(cfg elasticsearch.Config) (*esAPI, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("elasticsearch: url does not parse")
	}
	if u.User != nil {
		if cfg.Username == "" && cfg.Password == "" {
			cfg.Username = u.User.Username()
			cfg.Password, _ = u.User.Password()
		}
		u.User = nil
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if len(cfg.CACert) > 0 {
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(cfg.CACert) {
			return nil, fmt.Errorf("elasticsearch: ca_cert holds no PEM certificate")
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	c, err := es.NewClient(es.Config{Addresses: []string{u.String()}, APIKey: cfg.APIKey,
		Username: cfg.Username, Password: cfg.Password, Transport: tr})
	if err != nil {
		return nil, fmt.Errorf("elasticsearch: %w", err)
	}
	return &esAPI{client: c}, nil
}

// call sends one request and decodes a 2xx JSON answer into out (may be
// nil); it returns the status with an error for anything else.
func (a *esAPI) call(ctx context.Context, method, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, fmt.Errorf("elasticsearch: %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, path, rd)
	if err != nil {
		return 0, fmt.Errorf("elasticsearch: %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := a.client.Perform(req)
	if err != nil {
		return 0, fmt.Errorf("elasticsearch: %s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, fmt.Errorf("elasticsearch: %s %s: %w", method, path, err)
	}
	if res.StatusCode >= 300 {
		if len(data) > 300 {
			data = data[:300]
		}
		return res.StatusCode, fmt.Errorf("elasticsearch: %s %s: %d %s", method, path, res.StatusCode, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return res.StatusCode, fmt.Errorf("elasticsearch: %s %s: decode answer: %w", method, path, err)
		}
	}
	return res.StatusCode, nil
}

func (a *esAPI) deleteIndex(ctx context.Context, index string) error {
	status, err := a.call(ctx, http.MethodDelete, "/"+url.PathEscape(index), nil, nil)
	if status == http.StatusNotFound {
		return nil
	}
	return err
}

func (a *esAPI) refresh(ctx context.Context, index string) error {
	_, err := a.call(ctx, http.MethodPost, "/"+url.PathEscape(index)+"/_refresh", nil, nil)
	return err
}

// aliasIndices lists the indices an alias is on (none when it is missing).
func (a *esAPI) aliasIndices(ctx context.Context, alias string) ([]string, error) {
	var out map[string]any
	status, err := a.call(ctx, http.MethodGet, "/_alias/"+url.PathEscape(alias), nil, &out)
	if status == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(out))
	for k := range out {
		names = append(names, k)
	}
	return names, nil
}

// live returns which of ids the index holds as live documents (not
// tombstones), as of its last refresh.
func (a *esAPI) live(ctx context.Context, index string, ids []string) (map[string]bool, error) {
	q := map[string]any{
		"size": len(ids), "_source": false,
		"query": map[string]any{"bool": map[string]any{
			"filter":   []any{map[string]any{"ids": map[string]any{"values": ids}}},
			"must_not": []any{map[string]any{"term": map[string]any{elasticsearch.DeletedField: true}}},
		}},
	}
	var out struct {
		Hits struct {
			Hits []struct {
				ID string `json:"_id"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if _, err := a.call(ctx, http.MethodPost, "/"+url.PathEscape(index)+"/_search", q, &out); err != nil {
		return nil, err
	}
	found := make(map[string]bool, len(out.Hits.Hits))
	for _, h := range out.Hits.Hits {
		found[h.ID] = true
	}
	return found, nil
}
