package query

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	goredis "github.com/redis/go-redis/v9"
)

func TestStoreUnavailable(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused", fmt.Errorf("get v: redis: %w", refused), true},
		{"postgres connect error", fmt.Errorf("list v: %w", &pgconn.ConnectError{}), true},
		{"connection closed under a read", fmt.Errorf("get v: %w", io.ErrUnexpectedEOF), true},
		{"redis pool timeout", goredis.ErrPoolTimeout, true},
		{"postgres shutting down", &pgconn.PgError{Code: "57P01"}, true},
		{"postgres connection failure", &pgconn.PgError{Code: "08006"}, true},
		{"elasticsearch 503", &esStatusError{Status: http.StatusServiceUnavailable}, true},
		{"elasticsearch 429", &esStatusError{Status: http.StatusTooManyRequests}, true},
		{"elasticsearch 400", &esStatusError{Status: http.StatusBadRequest}, false},
		{"elasticsearch 404", &esStatusError{Status: http.StatusNotFound}, false},
		{"postgres syntax error", &pgconn.PgError{Code: "42601"}, false},
		{"no rows", pgx.ErrNoRows, false},
		{"request deadline", context.DeadlineExceeded, false},
		{"anything else", errors.New("boom"), false},
	} {
		if got := storeUnavailable(tc.err); got != tc.want {
			t.Errorf("%s: storeUnavailable(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}

// An Elasticsearch that does not answer, or answers 5xx, is a 503
// store_unavailable, which clients and proxies retry, not a 500.
func TestSearchStoreDown(t *testing.T) {
	tk := newTickets(t, `{"id":1,"status":"open","note":"a","score":1}`)
	if st, body := tk.get("/v1/views/tickets/search?q=a"); st != http.StatusOK {
		t.Fatalf("search: %d %v", st, body)
	}
	tk.es.FailNextSearch(1, http.StatusServiceUnavailable, "search_phase_execution_exception")
	if st, body := tk.get("/v1/views/tickets/search?q=a"); st != http.StatusServiceUnavailable || body["code"] != "store_unavailable" {
		t.Errorf("search, Elasticsearch answering 503: %d %v, want 503 store_unavailable", st, body)
	}
	tk.es.Close()
	if st, body := tk.get("/v1/views/tickets/search?q=a"); st != http.StatusServiceUnavailable || body["code"] != "store_unavailable" {
		t.Errorf("search, Elasticsearch down: %d %v, want 503 store_unavailable", st, body)
	}
	// PostgreSQL still answers the same view.
	if st, body := tk.get("/v1/views/tickets/docs/1"); st != http.StatusOK {
		t.Errorf("get, Elasticsearch down: %d %v, want 200", st, body)
	}
}
