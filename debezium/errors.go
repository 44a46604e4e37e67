package debezium

import "errors"

// ErrMalformed is wrapped by every error about input that is not a valid
// Debezium record. Its message names the field path at fault.
var ErrMalformed = errors.New("malformed debezium record")
