package query

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestPostgresGivingUpAReadIsRetryable: PostgreSQL giving up a read for
// a while is not the server's failure. A statement it canceled itself
// (57014: statement_timeout, pg_cancel_backend) was a read too slow, a 503
// timeout; a read a hot standby canceled for recovery (40001), or one that
// waited for a lock past lock_timeout (55P03, while a table swap or ADD
// COLUMN holds it), a 503 store_unavailable. A client gone meanwhile gets
// nothing.
func TestPostgresGivingUpAReadIsRetryable(t *testing.T) {
	s := &Server{log: slog.New(slog.DiscardHandler)}
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name     string
		code     string
		ctx      context.Context
		status   int
		wantCode string
	}{
		{"statement_timeout", "57014", context.Background(), http.StatusServiceUnavailable, "timeout"},
		{"statement canceled, client gone", "57014", gone, 0, ""},
		{"recovery conflict on a standby", "40001", context.Background(), http.StatusServiceUnavailable, "store_unavailable"},
		{"lock_timeout", "55P03", context.Background(), http.StatusServiceUnavailable, "store_unavailable"},
		{"syntax error", "42601", context.Background(), http.StatusInternalServerError, "internal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := fmt.Errorf("list v: %w", &pgconn.PgError{Code: tc.code, Message: tc.name})
			w := httptest.NewRecorder()
			r := httptest.NewRequestWithContext(tc.ctx, http.MethodGet, "http://localhost/v1/views/v/docs", nil)
			s.writeError(w, r, err)
			if tc.status == 0 {
				if w.Body.Len() != 0 {
					t.Errorf("answered %d %s to a client gone", w.Code, w.Body)
				}
				return
			}
			var body map[string]any
			if jerr := json.Unmarshal(w.Body.Bytes(), &body); jerr != nil || w.Code != tc.status || body["code"] != tc.wantCode {
				t.Errorf("%d %s, want %d %s", w.Code, w.Body, tc.status, tc.wantCode)
			}
		})
	}
}
