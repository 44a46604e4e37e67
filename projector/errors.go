package projector

import "errors"

var (
	// ErrUnsupported marks a well-formed record projector cannot project yet.
	ErrUnsupported = errors.New("unsupported record")
	// ErrBadRecord marks a decoded record that cannot be projected (a key
	// column is missing, say).
	ErrBadRecord = errors.New("record cannot be projected")
	// ErrUnknownView names a view the configuration does not declare.
	ErrUnknownView = errors.New("unknown view")
)
