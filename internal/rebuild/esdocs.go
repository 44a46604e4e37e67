package rebuild

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/projectorhq/projector/sinks/elasticsearch"
)

// esReader reads documents back from an index, for the verification to
// compare them field by field: the sink only writes, and its admin calls
// tell presence, not content.
type esReader struct {
	base   string // the URL without credentials or a trailing "/"
	header http.Header
	http   *http.Client
}

// esStored is a document as an index holds it: its version (the revision
// the sink wrote it at) and its _source as sent.
type esStored struct {
	version int64
	source  json.RawMessage
}

// live reports whether the document is not a tombstone.
func (s esStored) live() bool {
	var fields map[string]json.RawMessage
	if json.Unmarshal(s.source, &fields) != nil {
		return true
	}
	return string(fields[elasticsearch.DeletedField]) != "true"
}

// esReadWindow bounds the hits of one search, as Elasticsearch's
// index.max_result_window does by default.
const esReadWindow = 10_000

func newESReader(cfg *elasticsearch.Config) (*esReader, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Host == "" {
		return nil, errors.New("elasticsearch url is not http(s)://host:port") // the error may echo a password
	}
	user, pass := cfg.Username, cfg.Password
	if u.User != nil {
		if user == "" && pass == "" {
			user = u.User.Username()
			pass, _ = u.User.Password()
		}
		u.User = nil // never in an error message
	}
	header := http.Header{"Content-Type": {"application/json"}}
	switch {
	case cfg.APIKey != "":
		header.Set("Authorization", "ApiKey "+cfg.APIKey)
	case user != "" || pass != "":
		header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if len(cfg.CACert) > 0 {
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(cfg.CACert) {
			return nil, errors.New("elasticsearch ca_cert holds no PEM certificate")
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	// A URL ending in "/" (a path prefix's) would make the requests' paths
	// begin with an empty segment; the sink trims it too.
	return &esReader{base: strings.TrimRight(u.String(), "/"), header: header, http: &http.Client{Transport: tr}}, nil
}

func (r *esReader) close() { r.http.CloseIdleConnections() }

// stored returns the documents of ids that index holds, tombstones
// included, as of its last refresh (the verification refreshes before each
// round). A missing index is an error.
func (r *esReader) stored(ctx context.Context, index string, ids []string) (map[string]esStored, error) {
	out := make(map[string]esStored, len(ids))
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), esReadWindow)]
		ids = ids[len(chunk):]
		q := map[string]any{
			"size": len(chunk), "version": true, "track_total_hits": false,
			"query": map[string]any{"ids": map[string]any{"values": chunk}},
		}
		var res struct {
			Hits struct {
				Hits []struct {
					ID      string          `json:"_id"`
					Version int64           `json:"_version"`
					Source  json.RawMessage `json:"_source"`
				} `json:"hits"`
			} `json:"hits"`
		}
		if err := r.search(ctx, index, q, &res); err != nil {
			return nil, err
		}
		for _, h := range res.Hits.Hits {
			out[h.ID] = esStored{version: h.Version, source: h.Source}
		}
	}
	return out, nil
}

func (r *esReader) search(ctx context.Context, index string, q, out any) error {
	body, err := json.Marshal(q)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.base+"/"+url.PathEscape(index)+"/_search", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("elasticsearch: read %s: %w", index, err)
	}
	req.Header = r.header.Clone()
	resp, err := r.http.Do(req)
	if err != nil {
		return fmt.Errorf("elasticsearch: read %s: %w", index, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("elasticsearch: read %s: %w", index, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("elasticsearch: read %s: %s: %.300s", index, resp.Status, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("elasticsearch: read %s: %w", index, err)
	}
	return nil
}
