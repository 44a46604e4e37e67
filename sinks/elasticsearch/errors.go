package elasticsearch

import (
	"errors"
	"fmt"
	"net/http"
)

var (
	// ErrConfig reports an invalid Config or View.
	ErrConfig = errors.New("elasticsearch: invalid configuration")
	// ErrUnknownView marks a doc whose view the sink was not built with.
	ErrUnknownView = errors.New("elasticsearch: unknown view")
	// ErrInvalidDoc marks a doc that cannot be written (empty ID, negative
	// Rev, fields that do not encode as JSON or nest deeper than
	// Elasticsearch's parser takes).
	ErrInvalidDoc = errors.New("elasticsearch: invalid doc")
	// ErrTooLarge marks a doc larger than Elasticsearch takes in one
	// request (http.max_content_length): no request can carry it.
	ErrTooLarge = errors.New("elasticsearch: doc larger than the cluster's http.max_content_length")
	// ErrMapping marks a doc the index mapping rejected
	// (document_parsing_exception and kin). Retrying does not help until the
	// view or its mapping changes.
	ErrMapping = errors.New("elasticsearch: rejected by mapping")
	// ErrUnavailable marks a rejection (429) or server error (5xx) that
	// outlasted the sink's retries.
	ErrUnavailable = errors.New("elasticsearch: cluster unavailable")
	// ErrUnreachable wraps a transport failure: no HTTP response at all.
	ErrUnreachable = errors.New("elasticsearch: cluster unreachable")
	// ErrInvalidName marks an index or alias name that is not one concrete
	// name (empty, upper case, a wildcard or a list, …).
	ErrInvalidName = errors.New("elasticsearch: invalid index or alias name")
	// ErrAliasMismatch reports a SwapAlias whose alias was not on the
	// expected generation: someone else moved it.
	ErrAliasMismatch = errors.New("elasticsearch: alias not on the expected generation")
	// ErrForeignTemplate reports an index template of the alias's name that
	// projector did not make, which it will not overwrite.
	ErrForeignTemplate = errors.New("elasticsearch: index template of another owner")
)

// APIError is an error Elasticsearch returned, for one bulk item or a whole
// request. It never contains credentials.
type APIError struct {
	Status int    // HTTP status of the item or response
	Type   string // error.type, e.g. "document_parsing_exception"
	Reason string // error.reason
	Cause  string // error.caused_by.reason, when present
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("elasticsearch: %s: %s", e.Kind(), e.Reason)
	if e.Cause != "" {
		msg += " (caused by: " + e.Cause + ")"
	}
	return msg
}

// Kind is the answer's status and type ("401 security_exception"), which
// name nothing of the cluster. Its reason may: the user and roles of a
// refused request, an API key's id, a node and its address, what a proxy
// in front says; readiness, which anyone reaching the admin port reads,
// says Kind, and the log the whole error.
func (e *APIError) Kind() string {
	if e.Type == "" { // an envelope without one
		return fmt.Sprintf("%d %s", e.Status, http.StatusText(e.Status))
	}
	return fmt.Sprintf("%d %s", e.Status, e.Type)
}

// Refused tells an answer refusing projector's requests: its credentials
// (401) or what they may do (403: a security_exception, a write block on
// the index). The cluster answers; no retry helps until an operator acts.
func (e *APIError) Refused() bool {
	return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
}

// Is lets errors.Is classify an APIError as ErrMapping or ErrUnavailable.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrMapping:
		return mappingErrorTypes[e.Type]
	case ErrUnavailable:
		return retryableStatus(e.Status)
	}
	return false
}

// mappingErrorTypes are the item errors by which a mapping refuses a doc.
var mappingErrorTypes = map[string]bool{
	"document_parsing_exception":       true, // 8.x
	"mapper_parsing_exception":         true, // 7.x and some 8.x paths
	"strict_dynamic_mapping_exception": true,
}

// retryableStatus: rejections (429) and server errors are worth retrying.
func retryableStatus(status int) bool {
	return status == 429 || status >= 500
}
