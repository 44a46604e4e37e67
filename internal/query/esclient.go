package query

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// maxESDocBytes is the largest doc the Elasticsearch sink indexes
// (Elasticsearch's default http.max_content_length, which
// sinks/elasticsearch holds each doc to), so the largest _source a hit
// can have. A variable so that a test can lower it.
var maxESDocBytes int64 = 100 << 20

const (
	// maxTermBytes is the longest term Lucene indexes: no sort value or
	// facet key Elasticsearch answers with is longer.
	maxTermBytes = 32766
	// maxTermJSON is such a term in a JSON answer: quoted, each byte
	// escaped as at most six (\u0001), and a separator.
	maxTermJSON = 6*maxTermBytes + 3
	// maxESEnvelope bounds what an answer holds beside its hits and
	// buckets (took, _shards, hits.total, a hit's _index, _id and _score),
	// and any answer other than a search's (a refresh, an error).
	maxESEnvelope = 1 << 20
)

// searchAnswerBound is the most a _search answer can legitimately take:
// a page of limit hits, each its _source of at most maxESDocBytes and
// sortValues sort values, and facets of at most buckets buckets. Reading
// no more bounds the memory a search takes without ever cutting an answer
// Elasticsearch can give.
func searchAnswerBound(limit, sortValues, buckets int) int64 {
	hit := maxESDocBytes + maxESEnvelope + int64(sortValues)*maxTermJSON
	return int64(limit)*hit + int64(buckets)*2*maxTermJSON + maxESEnvelope // a bucket's key and key_as_string
}

// esClient is the little of Elasticsearch's REST API the query side needs.
type esClient struct {
	base   string
	header http.Header
	http   *http.Client
}

// esStatusError is an answer of Elasticsearch other than 2xx.
type esStatusError struct {
	Status int
	Type   string // the error's type, as Elasticsearch names it
	msg    string
}

func (e *esStatusError) Error() string { return e.msg }

// esAnswerError is a 2xx answer that was read whole, or up to its bound,
// and cannot be used: longer than the request's answer can be, or not the
// JSON it should be. Retrying does not help: it is not storeUnavailable,
// and so does not unwrap to the decoder's error (io.ErrUnexpectedEOF).
type esAnswerError struct {
	TooLong bool
	Bound   int64 // the bound passed, when TooLong
	err     error // the decoder's, when not TooLong
}

func (e *esAnswerError) Error() string {
	if e.TooLong {
		return fmt.Sprintf("elasticsearch: answer longer than %d bytes", e.Bound)
	}
	return "elasticsearch: answer does not decode: " + e.err.Error()
}

// search runs a _search and decodes its answer into out, reading at most
// bound bytes of it (searchAnswerBound).
func (c *esClient) search(ctx context.Context, alias string, body map[string]any, bound int64, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, "/"+url.PathEscape(alias)+"/_search", b, bound, out)
}

// refresh makes every write acknowledged so far visible to search: after a
// read-your-writes wait, the watermark says the doc is in Elasticsearch,
// but search sees it only after the next refresh.
func (c *esClient) refresh(ctx context.Context, alias string) error {
	return c.do(ctx, http.MethodPost, "/"+url.PathEscape(alias)+"/_refresh", nil, maxESEnvelope, nil)
}

// do sends a request and decodes a 2xx answer into out (nil: the answer
// is not needed), reading at most bound bytes of it. An answer cut by the
// connection is a read error, which storeUnavailable recognises; one
// longer than bound, or read whole and not decoding, an *esAnswerError.
func (c *esClient) do(ctx context.Context, method, path string, body []byte, bound int64, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("elasticsearch: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		data, err := io.ReadAll(io.LimitReader(res.Body, maxESEnvelope))
		if err != nil {
			return fmt.Errorf("elasticsearch: read response: %w", err)
		}
		var body struct {
			Error struct {
				Type string `json:"type"`
			} `json:"error"`
		}
		_ = json.Unmarshal(data, &body) // not every answer is Elasticsearch's JSON
		// The body may quote the request; keep the error short.
		msg := strings.TrimSpace(string(data))
		if len(msg) > 300 {
			msg = msg[:300]
		}
		return &esStatusError{Status: res.StatusCode, Type: body.Error.Type, msg: fmt.Sprintf("elasticsearch: %s %s: %d: %s", method, path, res.StatusCode, msg)}
	}
	if out == nil {
		_, err := io.Copy(io.Discard, io.LimitReader(res.Body, bound))
		if err != nil {
			return fmt.Errorf("elasticsearch: read response: %w", err)
		}
		return nil
	}
	// Decoded as it arrives: the answer is not held twice.
	r := &answerReader{r: res.Body, left: bound}
	dec := json.NewDecoder(r)
	dec.UseNumber()
	err = dec.Decode(out)
	switch {
	case err == nil:
		return nil
	case r.err != nil:
		return fmt.Errorf("elasticsearch: read response: %w", r.err)
	case r.left < 0:
		return &esAnswerError{TooLong: true, Bound: bound}
	}
	return &esAnswerError{err: err}
}

// answerReader reads an answer up to a bound, telling the bound passed
// (left < 0) and a failed read (err) from the answer's end.
type answerReader struct {
	r    io.Reader
	left int64 // bytes the bound still allows
	err  error // the read's, other than io.EOF
}

func (a *answerReader) Read(p []byte) (int, error) {
	if a.left < 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > a.left+1 {
		p = p[:a.left+1] // one byte past the bound tells that it was passed
	}
	n, err := a.r.Read(p)
	a.left -= int64(n)
	if a.left < 0 {
		return n, io.EOF
	}
	if err != nil && !errors.Is(err, io.EOF) {
		a.err = err
	}
	return n, err
}
