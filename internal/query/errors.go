package query

import (
	"errors"
	"fmt"
	"net/http"
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
