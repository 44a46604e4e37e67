package query

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	goredis "github.com/redis/go-redis/v9"

	"github.com/projectorhq/projector/sinks/redis"
)

// Sentinel errors; a request error is an *Error whose Unwrap returns one of
// them, so callers (the CLI) can tell them apart with errors.Is.
var (
	// ErrNotFound: no such view, document or endpoint.
	ErrNotFound = errors.New("not found")
	// ErrBadRequest: a parameter, filter, cursor or position is invalid.
	ErrBadRequest = errors.New("bad request")
	// ErrUnauthorized: no valid bearer token.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden: the token may not read that view.
	ErrForbidden = errors.New("forbidden")
	// ErrNotReached: the requested source position was not projected in time.
	ErrNotReached = errors.New("position not reached")
	// ErrStoreAnswer: a store answered with what no retry would change and
	// the server cannot use (502): longer than the request's answer can
	// be, or not the JSON it should be.
	ErrStoreAnswer = errors.New("unusable store answer")
	// ErrConfig: the server cannot be built or listen as configured.
	ErrConfig = errors.New("query server configuration")
)

// Error is what a request gets back instead of a result: an HTTP status and
// the JSON body {"error": message, "code": code, "param": param, ...}.
type Error struct {
	Status  int
	Code    string // machine-readable: unknown_field, bad_value, bad_cursor, ...
	Message string
	Param   string // the query parameter at fault, when there is one
	// Current is, for a position not reached in time, how far each
	// partition of the source got.
	Current map[string]*SourceProgress
	kind    error
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.kind }

// body is the JSON error body.
func (e *Error) body() map[string]any {
	b := map[string]any{"error": e.Message, "code": e.Code}
	if e.Param != "" {
		b["param"] = e.Param
	}
	if e.Current != nil {
		b["current"] = e.Current
	}
	return b
}

// maxEcho bounds how much of a request value an error message repeats.
const maxEcho = 80

func echo(s string) string {
	if len(s) > maxEcho {
		// Cut on a byte boundary is fine: %q escapes what is left of a rune.
		return s[:maxEcho] + "…"
	}
	return s
}

func badRequest(code, param, format string, a ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: code, Param: param, Message: fmt.Sprintf(format, a...), kind: ErrBadRequest}
}

func notFound(format string, a ...any) *Error {
	return &Error{Status: http.StatusNotFound, Code: "not_found", Message: fmt.Sprintf(format, a...), kind: ErrNotFound}
}

// storeUnavailable reports whether err says a store could not be reached
// or cannot serve for now, rather than that the request or the server is
// wrong: a network error (refused, reset, unreachable; an Elasticsearch
// request that got no answer), a connection closed under a read,
// PostgreSQL refusing a connection, shutting down or giving up a read
// for a while (recovery conflict, lock timeout), Redis' pool timing
// out, Elasticsearch answering 5xx or 429 (overloaded). A client may
// retry such a request later (503). The request's own deadline or
// cancellation is not the store's failure.
func storeUnavailable(err error) bool {
	var netErr net.Error
	var connErr *pgconn.ConnectError
	var pgErr *pgconn.PgError
	var esErr *esStatusError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		return false // the request's own time, not the store (a net.Error too)
	case errors.As(err, &netErr), errors.As(err, &connErr),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, goredis.ErrPoolTimeout),
		redis.Unavailable(err): // LOADING after a restart, MASTERDOWN, …
		return true
	case errors.As(err, &pgErr):
		// Class 08, connection exception; 57P01-57P03, the server is
		// shutting down or starting; 40001, a hot standby canceling a read
		// that conflicts with recovery (or a serialization failure); 55P03,
		// lock_timeout while a table swap or ADD COLUMN holds the view's
		// table. Each passes: a retry reads.
		return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "57P0") ||
			pgErr.Code == "40001" || pgErr.Code == "55P03"
	case errors.As(err, &esErr):
		return esErr.Status >= 500 || esErr.Status == http.StatusTooManyRequests
	}
	return false
}

// statementCanceled reports whether PostgreSQL canceled a statement
// itself (57014, query_canceled): the statement_timeout of the reader's
// role or database, or an operator's pg_cancel_backend. Unless the request
// is gone, that is a read too slow for the store, as one out of the
// request's own time is.
func statementCanceled(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "57014"
}
