package query

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

// A request's reads are bounded by QueryTimeout from when they start. A
// request without min_position does not wait, so nothing of the default
// 5 s read-your-writes wait may be added to its reads' deadline.
func TestReadsBoundedByQueryTimeout(t *testing.T) {
	tk := newTickets(t, `{"id":1,"status":"open","note":"a","score":1}`)
	tk.s.opts.QueryTimeout = 3 * time.Second
	for _, target := range []string{"/v1/views/tickets", "/v1/views/tickets?wait=20s"} {
		var left time.Duration
		h := tk.s.docs(false, func(*http.Request, url.Values) (readFunc, error) {
			return func(ctx context.Context) ([]byte, error) {
				deadline, ok := ctx.Deadline()
				if !ok {
					t.Fatalf("%s: the read has no deadline", target)
				}
				left = time.Until(deadline)
				return []byte(`{}`), nil
			}, nil
		})
		req := httptest.NewRequest(http.MethodGet, target, nil)
		req.SetPathValue("view", "tickets")
		rec := httptest.NewRecorder()
		h(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", target, rec.Code, rec.Body)
		}
		if left <= 0 || left > tk.s.opts.QueryTimeout {
			t.Errorf("%s: the read's deadline is %v away, want at most the query timeout %v", target, left, tk.s.opts.QueryTimeout)
		}
	}
}
