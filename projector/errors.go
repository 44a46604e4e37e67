package projector

import "errors"

var (
	// ErrUnsupported marks a well-formed record projector cannot project yet.
	ErrUnsupported = errors.New("unsupported record")
	// ErrBadRecord marks a decoded record that cannot be projected (a key
	// column is missing, say).
	ErrBadRecord = errors.New("record cannot be projected")
	// ErrState wraps failures of the query PostgreSQL that holds the state,
	// revisions and pending docs (as opposed to a sink's).
	ErrState = errors.New("state database")
	// ErrSchemaNotFound is a SchemaRegistry's answer for an id it does not
	// have (the record is bad); any other error means the registry is
	// unreachable and the batch is retried.
	ErrSchemaNotFound = errors.New("schema not found in the registry")
	// ErrUnknownView names a view the configuration does not declare.
	ErrUnknownView = errors.New("unknown view")
)
