package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/projectorhq/projector/sinks"
)

// maxBulkBytes splits a large batch into several _bulk requests, within
// Elasticsearch's advice of a few megabytes per request and far below
// http.max_content_length (maxContentLength).
const maxBulkBytes = 8 << 20

// maxContentLength is Elasticsearch's default http.max_content_length: it
// answers a longer request body with 413, so a doc whose action and source
// lines are longer is refused without being sent. A cluster configured with
// a lower limit answers 413 to smaller requests: see tooLarge.
const maxContentLength = 100 << 20

// maxIDBytes is Elasticsearch's limit on the UTF-8 length of an _id. A bulk
// request holding a longer one is refused whole, valid docs included.
const maxIDBytes = 512

// idBytes is the length of id as Elasticsearch receives it: JSON encoding
// turns each byte of invalid UTF-8 into U+FFFD, three bytes.
func idBytes(id string) int {
	n := 0
	for _, r := range id {
		n += utf8.RuneLen(r)
	}
	return n
}

// versionType makes Elasticsearch keep a document unless the new version is
// strictly higher (see the package comment).
const versionType = "external"

// item is one encoded doc of the batch: its index in the batch and its
// action+source lines in the body.
type item struct {
	idx        int
	start, end int
	err        error // the last retryable failure, when it is retried
}

// bulkBuf is the buffer Write encodes a batch into, whose bytes the
// batch's requests send. The transport may still read a request's body
// after the response came back (an answer sent before the body was read,
// such as a 413: see http.RoundTripper) and closes the body when done with
// it. So the buffer goes back to bufPool only once Write and every body
// reading it have let it go; one whose body the transport never got, and
// so never closed, is left to the garbage collector.
type bulkBuf struct {
	bytes.Buffer
	refs atomic.Int32
}

var bufPool = sync.Pool{New: func() any { return new(bulkBuf) }}

// release lets go of one reference to b.
func (b *bulkBuf) release() {
	if b.refs.Add(-1) == 0 && b.Cap() <= 4*maxBulkBytes {
		bufPool.Put(b)
	}
}

// body returns a request body reading p, bytes of b, which holds a
// reference to b until it is closed.
func (b *bulkBuf) body(p []byte) io.ReadCloser {
	b.refs.Add(1)
	return &bufBody{Reader: bytes.NewReader(p), buf: b}
}

// bufBody is a request body reading bytes of a bulkBuf.
type bufBody struct {
	*bytes.Reader
	buf    *bulkBuf
	closed atomic.Bool
}

// Close releases the buffer once, however often the transport calls it.
func (r *bufBody) Close() error {
	if r.closed.CompareAndSwap(false, true) {
		r.buf.release()
	}
	return nil
}

// Write stores a batch with one or more _bulk requests. Each doc is an
// "index" action with version = Rev and version_type=external, so the
// highest Rev wins whatever the order of arrival; a doc refused with a 409
// version conflict was already stored at the same or a higher Rev: it counts
// as stale and as done.
//
// A deleted doc is not sent as a bulk "delete". Elasticsearch remembers a
// deleted document's version only for index.gc_deletes (60s by default):
// after that, a delayed write of an older Rev — a retried batch, or another
// instance after a rebalance — would create the document again, and the
// delete would be lost for good. Instead the sink indexes a tombstone
// document ({"_deleted": true, "_deleted_at": …, key fields}) with the
// delete's Rev, which guards the id as long as the tombstone exists. A
// later, higher Rev resurrects the doc by replacing the tombstone. The
// alias filters tombstones out of searches and counts; readers getting a
// document by id check DeletedField. The cost: tombstones take space until
// PurgeTombstones removes those older than the retention.
//
// Items and whole responses with 429 or 5xx are retried with capped
// exponential backoff, up to Config.Retries times within this call; what
// still fails, and every item the cluster refused for good (a mapping
// error, say), is reported in a *sinks.BatchError by batch index. A
// transport failure (no HTTP response) fails the whole batch with an error
// wrapping ErrUnreachable. A doc for which Elasticsearch would refuse the
// whole request (an empty id, an id over 512 bytes, a negative Rev) is not
// sent: it fails alone with ErrInvalidDoc, wrapped with sinks.Refused; so
// do a doc nested deeper than Elasticsearch's parser takes (see fitParser,
// which also writes a number of more than 1000 digits as a string) and a
// doc larger than a request may be (ErrTooLarge, see tooLarge).
func (s *Sink) Write(ctx context.Context, docs []sinks.Doc) error {
	if len(docs) == 0 {
		return nil
	}
	buf := bufPool.Get().(*bulkBuf)
	buf.Reset()
	buf.refs.Store(1) // Write's own; each request body takes one
	defer buf.release()
	failed := map[int]error{}
	pending := s.encode(&buf.Buffer, docs, failed)

	for attempt := 0; len(pending) > 0; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, s.backoff(attempt-1)); err != nil {
				return fmt.Errorf("elasticsearch: write interrupted before retry %d: %w", attempt, err)
			}
		}
		retry, err := s.send(ctx, buf, pending, failed)
		if err != nil {
			return err
		}
		if len(retry) > 0 && attempt >= s.retries {
			for _, it := range retry {
				failed[it.idx] = fmt.Errorf("%w after %d attempts: %w", ErrUnavailable, attempt+1, it.err)
			}
			break
		}
		pending = retry
	}
	if err := s.dropStale(ctx, docs, failed); err != nil {
		return err
	}
	if len(failed) > 0 {
		return &sinks.BatchError{Failed: failed}
	}
	return nil
}

// dropStale takes out of failed the docs refused as they are whose id
// holds their revision or a newer one already: they are stale, never
// refused, in every store. Elasticsearch parses a document before it
// compares versions, so an outdated one its mapping cannot take is answered
// 400, not 409; and one too large is refused before it is sent. Refusals
// are rare: one get per refused doc.
func (s *Sink) dropStale(ctx context.Context, docs []sinks.Doc, failed map[int]error) error {
	for i, err := range failed {
		d := &docs[i]
		v := s.views[d.View]
		if !errors.Is(err, sinks.ErrRefused) || v == nil || d.ID == "" || idBytes(d.ID) > maxIDBytes {
			continue
		}
		var got struct {
			Found   bool  `json:"found"`
			Version int64 `json:"_version"`
		}
		status, data, err := s.exchange(ctx, http.MethodGet, "/"+url.PathEscape(v.index)+"/_doc/"+url.PathEscape(d.ID)+"?_source=false", nil)
		switch {
		case err != nil:
			return err // unreachable: the batch is retried
		case status == http.StatusNotFound:
			continue // no such doc, or no index yet
		case status >= 300:
			return fmt.Errorf("elasticsearch: look up the version of refused doc %q: %w", d.ID, parseAPIError(status, data))
		}
		if err := json.Unmarshal(data, &got); err != nil {
			return fmt.Errorf("elasticsearch: look up the version of refused doc %q: %w", d.ID, err)
		}
		if got.Found && got.Version >= d.Rev {
			delete(failed, i)
			s.stale.Add(1)
		}
	}
	return nil
}

// encode writes the NDJSON lines of every valid doc into buf and returns
// their items; invalid docs go to failed.
func (s *Sink) encode(buf *bytes.Buffer, docs []sinks.Doc, failed map[int]error) []item {
	items := make([]item, 0, len(docs))
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	deletedAt := ""
	for i := range docs {
		d := &docs[i]
		v := s.views[d.View]
		switch {
		case v == nil:
			failed[i] = sinks.Refused(fmt.Errorf("%w: %q", ErrUnknownView, d.View))
			continue
		case d.ID == "":
			failed[i] = sinks.Refused(fmt.Errorf("%w: empty id", ErrInvalidDoc))
			continue
		case d.Rev < 0:
			// Elasticsearch would reject the whole request for it.
			failed[i] = sinks.Refused(fmt.Errorf("%w: negative rev %d", ErrInvalidDoc, d.Rev))
			continue
		case idBytes(d.ID) > maxIDBytes:
			// So would it for this one (action_request_validation_exception).
			failed[i] = sinks.Refused(fmt.Errorf("%w: id is %d bytes, more than Elasticsearch's limit of %d", ErrInvalidDoc, idBytes(d.ID), maxIDBytes))
			continue
		}
		start := buf.Len()
		buf.Write(v.actionHead)
		if err := enc.Encode(d.ID); err != nil {
			buf.Truncate(start)
			failed[i] = sinks.Refused(fmt.Errorf("%w: id: %w", ErrInvalidDoc, err))
			continue
		}
		buf.Truncate(buf.Len() - 1) // Encode's newline
		buf.WriteString(`,"version":`)
		buf.WriteString(strconv.FormatInt(d.Rev, 10))
		buf.WriteString(`,"version_type":"` + versionType + `"}}` + "\n")
		var src any = d.Fields
		switch {
		case d.Deleted:
			if deletedAt == "" {
				deletedAt = s.clock().UTC().Format(time.RFC3339Nano)
			}
			t := make(map[string]any, len(d.Key)+2)
			for k, val := range d.Key {
				t[k] = val
			}
			t[DeletedField] = true
			t[DeletedAtField] = deletedAt
			src = t
		case d.Fields == nil:
			src = struct{}{}
		}
		srcStart := buf.Len()
		if err := enc.Encode(src); err != nil {
			buf.Truncate(start)
			failed[i] = sinks.Refused(fmt.Errorf("%w: %w", ErrInvalidDoc, err))
			continue
		}
		if err := fitParser(buf, srcStart); err != nil {
			buf.Truncate(start)
			failed[i] = err
			continue
		}
		if n := buf.Len() - start; n > maxContentLength {
			buf.Truncate(start)
			failed[i] = sinks.Refused(fmt.Errorf("%w: %d bytes, more than the default limit of %d", ErrTooLarge, n, maxContentLength))
			continue
		}
		items = append(items, item{idx: i, start: start, end: buf.Len()})
	}
	return items
}

// send posts the pending items in requests of at most maxBulkBytes and sorts
// the outcomes: done (stored or stale), failed for good (into failed), or
// to retry (returned, with the error). A transport failure or a non-retryable
// whole-request error is returned as err.
func (s *Sink) send(ctx context.Context, buf *bulkBuf, pending []item, failed map[int]error) ([]item, error) {
	var retry []item
	for len(pending) > 0 {
		n, size := 0, 0
		for n < len(pending) && (n == 0 || size+pending[n].end-pending[n].start <= maxBulkBytes) {
			size += pending[n].end - pending[n].start
			n++
		}
		chunk := pending[:n]
		pending = pending[n:]
		again, err := s.bulk(ctx, buf, chunk, size, failed)
		if err != nil {
			return nil, err
		}
		retry = append(retry, again...)
	}
	return retry, nil
}

// requestBody returns the lines of chunk: a slice of body when they are
// contiguous (the first attempt), a copy otherwise (a retry of some items).
func requestBody(body []byte, chunk []item, size int) []byte {
	contiguous := true
	for i := 1; i < len(chunk); i++ {
		if chunk[i].start != chunk[i-1].end {
			contiguous = false
			break
		}
	}
	if contiguous {
		return body[chunk[0].start:chunk[len(chunk)-1].end]
	}
	out := make([]byte, 0, size)
	for _, it := range chunk {
		out = append(out, body[it.start:it.end]...)
	}
	return out
}

// bulkItem is one entry of a bulk response's "items" array, under the name
// of its action: Write sends "index" actions, PurgeTombstones "delete" ones.
type bulkItem struct {
	Index  *bulkItemResult `json:"index"`
	Delete *bulkItemResult `json:"delete"`
}

// bulkItemResult is what the sink reads of one action's outcome.
type bulkItemResult struct {
	Status int          `json:"status"`
	Result string       `json:"result"` // created, updated, deleted, not_found, noop
	Error  *errorObject `json:"error"`
}

// postBulk sends one _bulk request; body is bytes of buf when buf is not
// nil (see bulkBuf). A whole-request error answer is returned as reqErr,
// to retry when its status is retryable; a transport failure or an
// unreadable response is err (wrapping ErrUnreachable). With all false, a
// response whose "errors" is false yields nil items (every action
// succeeded); with all true the items are always read.
func (s *Sink) postBulk(ctx context.Context, body []byte, buf *bulkBuf, all bool) (items []bulkItem, reqErr *APIError, err error) {
	ctx, cancel := s.requestContext(ctx)
	defer cancel()
	req, err := s.newRequest(ctx, http.MethodPost, "/_bulk", bytes.NewReader(body))
	if err != nil {
		return nil, nil, fmt.Errorf("elasticsearch: bulk: %w", err)
	}
	if buf != nil {
		// The length NewRequest took from the bytes.Reader stands; GetBody
		// still lets the transport resend a request it could not write.
		req.Body = buf.body(body)
		req.GetBody = func() (io.ReadCloser, error) { return buf.body(body), nil }
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	res, err := s.es.Perform(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: bulk: %w", ErrUnreachable, err)
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		data, _ := io.ReadAll(res.Body)
		return nil, parseAPIError(res.StatusCode, data), nil
	}
	items, err = decodeBulk(res.Body, all)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: bulk: read response: %w", ErrUnreachable, err)
	}
	return items, nil, nil
}

// bulk sends the items of chunk, whose lines in buf are size bytes, in
// one request, and sorts their outcomes as send does.
func (s *Sink) bulk(ctx context.Context, buf *bulkBuf, chunk []item, size int, failed map[int]error) ([]item, error) {
	items, ae, err := s.postBulk(ctx, requestBody(buf.Bytes(), chunk, size), buf, false)
	switch {
	case err != nil:
		return nil, err
	case ae != nil && ae.Status == http.StatusRequestEntityTooLarge:
		return s.tooLarge(ctx, buf, chunk, ae, failed)
	case ae != nil && !retryableStatus(ae.Status):
		return nil, fmt.Errorf("elasticsearch: bulk: %w", ae)
	case ae != nil:
		retry := make([]item, len(chunk))
		for i, it := range chunk {
			it.err = ae
			retry[i] = it
		}
		return retry, nil
	case items == nil:
		return nil, nil // "errors": false: every item stored
	case len(items) != len(chunk):
		return nil, fmt.Errorf("elasticsearch: bulk: %d results for %d actions", len(items), len(chunk))
	}
	var retry []item
	for i, it := range chunk {
		r := items[i].Index
		if r == nil {
			failed[it.idx] = fmt.Errorf("elasticsearch: bulk: result without an index entry")
			continue
		}
		switch {
		case r.Status < 300:
		case r.Error == nil:
			failed[it.idx] = &APIError{Status: r.Status, Type: http.StatusText(r.Status)}
		case r.Status == http.StatusConflict && r.Error.Type == "version_conflict_engine_exception":
			s.stale.Add(1)
		case retryableStatus(r.Status):
			it.err = r.Error.apiError(r.Status)
			retry = append(retry, it)
		case r.Status == http.StatusBadRequest && documentsFault(r.Error.apiError(r.Status)):
			failed[it.idx] = sinks.Refused(r.Error.apiError(r.Status))
		default:
			failed[it.idx] = r.Error.apiError(r.Status)
		}
	}
	return retry, nil
}

// tooLarge handles a request Elasticsearch answered with 413: its body is
// longer than the cluster's http.max_content_length, which may be set
// lower than the default encode checks. The request is split in halves,
// each sent again; a doc alone in a request answered 413 is refused, as no
// request can carry it.
func (s *Sink) tooLarge(ctx context.Context, buf *bulkBuf, chunk []item, ae *APIError, failed map[int]error) ([]item, error) {
	if len(chunk) == 1 {
		failed[chunk[0].idx] = sinks.Refused(fmt.Errorf("%w: %w", ErrTooLarge, ae))
		return nil, nil
	}
	var retry []item
	mid := len(chunk) / 2
	for _, half := range [][]item{chunk[:mid], chunk[mid:]} {
		size := 0
		for _, it := range half {
			size += it.end - it.start
		}
		again, err := s.bulk(ctx, buf, half, size, failed)
		if err != nil {
			return nil, err
		}
		retry = append(retry, again...)
	}
	return retry, nil
}

// decodeBulk reads a bulk response. When "errors" is false and all is not
// set it skips the items (every one succeeded) and returns nil; the rest of
// the body is drained so the connection can be reused.
func decodeBulk(r io.Reader, all bool) ([]bulkItem, error) {
	defer func() { _, _ = io.Copy(io.Discard, r) }()
	dec := json.NewDecoder(r)
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("bulk response is not a JSON object: %v", err)
	}
	hasErrors := true // until "errors" says otherwise
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		switch t {
		case "errors":
			if err := dec.Decode(&hasErrors); err != nil {
				return nil, err
			}
			if !hasErrors && !all {
				return nil, nil
			}
		case "items":
			var items []bulkItem
			if err := dec.Decode(&items); err != nil {
				return nil, err
			}
			if items == nil {
				items = []bulkItem{}
			}
			return items, nil
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, err
			}
		}
	}
	return nil, errors.New("bulk response has no items")
}

// backoff is the wait before retry n+1: 100ms doubling per retry, capped at
// MaxBackoff, with jitter so instances retrying together spread out.
func (s *Sink) backoff(n int) time.Duration {
	d := s.maxBackoff
	if n < 30 {
		d = min(initialBackoff<<n, s.maxBackoff)
	}
	half := d / 2
	return half + rand.N(half+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// documentsFault tells an item refused for the document itself — a field
// the mapping cannot parse, a term too long to index — which no retry
// changes, from a 400 about the cluster's state (a closed index, an alias
// without a write index), which an operator may fix and a retry then
// passes.
func documentsFault(e *APIError) bool {
	switch e.Type {
	case "document_parsing_exception", "mapper_parsing_exception", "strict_dynamic_mapping_exception":
		return true
	case "illegal_argument_exception":
		// An immense term, or fields beyond the index's limits (total
		// fields, depth, nested): only a doc without them gets in.
		return strings.Contains(e.Reason, "immense term") || strings.Contains(e.Reason, "Limit of ")
	}
	return false
}
